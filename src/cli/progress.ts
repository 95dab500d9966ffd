/**
 * Progress of long-running commands, on stderr so stdout stays the command's result. On a
 * terminal it is one line rewritten in place; otherwise (CI logs, pipes) the first update and
 * then every `every`-th become lines of their own, and the last one is printed when the work
 * ends, so a log shows the start, the pace and the end without a line per page.
 */
export interface StatusLine {
  update(text: string): void;
  /** The work is over: a terminal's line is cleared; elsewhere the last update is printed if it was skipped. */
  done(): void;
  /** Writes something else (a log line, a result) without mixing it into the progress line. */
  around(write: () => void): void;
}

export interface StatusLineOptions {
  write: (text: string) => void;
  isTTY: boolean;
  enabled: boolean;
  /** Terminal width: longer lines are cut so that rewriting in place never wraps. */
  columns?: number | undefined;
  every?: number;
}

const CLEAR_LINE = "\r\u001b[2K";

export function createStatusLine(options: StatusLineOptions): StatusLine {
  const every = options.every ?? 5;
  let shown: string | undefined;
  let updates = 0;
  let lastSkipped: string | undefined;

  if (!options.enabled) return { update: () => undefined, done: () => undefined, around: (write) => write() };

  if (options.isTTY) {
    const fitToWidth = (text: string) => {
      const width = (options.columns ?? 80) - 1;
      return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
    };
    return {
      update(text) {
        shown = fitToWidth(text);
        options.write(`${CLEAR_LINE}${shown}`);
      },
      done() {
        if (shown !== undefined) options.write(CLEAR_LINE);
        shown = undefined;
      },
      around(write) {
        if (shown === undefined) {
          write();
          return;
        }
        options.write(CLEAR_LINE);
        write();
        options.write(shown);
      },
    };
  }

  return {
    update(text) {
      updates += 1;
      if (updates % every === 1 || every === 1) {
        options.write(`${text}\n`);
        lastSkipped = undefined;
      } else {
        lastSkipped = text;
      }
    },
    done() {
      if (lastSkipped !== undefined) options.write(`${lastSkipped}\n`);
      lastSkipped = undefined;
      updates = 0;
    },
    around: (write) => write(),
  };
}
