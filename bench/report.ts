import { DEFAULT_SCOPE_CONCURRENCY } from "../src/usecases/poll.ts";
import type { CliRun } from "./cli-poll.ts";
import { PRICES } from "./cost.ts";
import {
  type BenchResults,
  PHASE_LABELS,
  type PhaseName,
  type PhaseResult,
  type SizeResult,
  TARGETS,
} from "./model.ts";
import type { DynamoFigures } from "./protocol.ts";

/** Markdown tables (readable in a terminal, pasted as is into bench/README.md). */

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  return [line(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

const int = (value: number) => Math.round(value).toLocaleString("en-US");
const num = (value: number, digits = 1) =>
  value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const usd = (value: number) => `$${value.toFixed(2)}`;

function commands(dynamo: DynamoFigures): string {
  return (
    Object.entries(dynamo.byCommand)
      .sort((a, b) => b[1] - a[1])
      .map(([command, count]) => `${command.replace(/Command$/, "")} ${int(count)}`)
      .join(", ") || "none"
  );
}

function queueCommands(byCommand: Record<string, number>): string {
  return (
    Object.entries(byCommand)
      .map(([command, count]) => `${command} ${int(count)}`)
      .join(", ") || "none"
  );
}

function operations(dynamo: DynamoFigures): string {
  return (
    Object.entries(dynamo.byOperation)
      .map(
        ([operation, figures]) =>
          `${operation} ${int(figures.requests)}x ${num(figures.readUnits, 1)}r/${num(figures.writeUnits, 1)}w`,
      )
      .join("; ") || "none"
  );
}

function pollRows(size: SizeResult): string[][] {
  return size.phases.map((phase) => [
    int(size.conversations),
    PHASE_LABELS[phase.phase],
    int(phase.poll.wallMs),
    int(size.lowerBound.timeMs),
    num(phase.ratios.time, 2),
    int(phase.api.requests),
    int(size.lowerBound.pages),
    String(phase.api.maxConcurrentRequests),
    int(phase.api.requestsPerSecond),
    int(phase.poll.dynamo.requests),
    num(phase.poll.dynamo.readUnits, 1),
    num(phase.poll.dynamo.writeUnits, 1),
    `${num(phase.poll.memory.rssPeakSampledMb)} / ${num(phase.runs.worstMaxRssMb)}`,
    phase.delivery ? `${phase.delivery.alertsDelivered}/${size.repliesAdded}` : "",
    phase.verdicts.apiPages,
    phase.verdicts.wallTime,
    phase.verdicts.concurrency,
    phase.verdicts.steadyDynamo,
    phase.verdicts.memory,
  ]);
}

function summary(results: BenchResults): string[] {
  const all = results.sizes.flatMap((size) => size.phases.map((phase) => ({ size, phase })));
  const deployed = all.filter(({ phase }) => phase.design === "deployed");
  const line = (name: string, pick: (phase: PhaseResult) => string, scope: typeof all) => {
    const judged = scope.filter(({ phase }) => pick(phase) !== "n/a");
    const missed = judged.filter(({ phase }) => pick(phase) === "MISS");
    const verdict = missed.length === 0 ? "PASS" : "MISS";
    const where = missed
      .map(({ size, phase }) => `N=${int(size.conversations)} ${PHASE_LABELS[phase.phase]}`)
      .join("; ");
    return `- ${verdict} ${name}: ${judged.length - missed.length}/${judged.length} polls${where ? ` (missed: ${where})` : ""}`;
  };
  const targets = (scope: typeof all) => [
    line("API requests = lower bound, no repeated page", (phase) => phase.verdicts.apiPages, scope),
    line(`wall time <= ${TARGETS.timeRatio}x latency lower bound`, (phase) => phase.verdicts.wallTime, scope),
    line(
      `<= ${results.options.concurrency} requests in flight and <= ${TARGETS.rateLimitShare * 100}% of ${results.options.rateLimit} req/s`,
      (phase) => phase.verdicts.concurrency,
      scope,
    ),
    line("steady state: read units <= N/100 and zero writes", (phase) => phase.verdicts.steadyDynamo, scope),
    line(`poller peak RSS < ${TARGETS.memoryMb} MB`, (phase) => phase.verdicts.memory, scope),
  ];
  const only = (name: PhaseName) => all.filter(({ phase }) => phase.phase === name);
  const cli = results.sizes.flatMap((size) => (size.cli ? [{ size, cli: size.cli }] : []));
  const cliMissed = cli.filter(({ cli }) => cli.verdict === "MISS");
  const cliLine =
    cli.length === 0
      ? []
      : [
          `- ${cliMissed.length === 0 ? "PASS" : "MISS"} CLI \`poll --once\`, steady, fresh process: read units <= N/100 and zero writes: ` +
            `${cli.length - cliMissed.length}/${cli.length} sizes` +
            (cliMissed.length > 0
              ? ` (missed: ${cliMissed.map(({ size }) => `N=${int(size.conversations)}`).join("; ")})`
              : ""),
        ];
  return [
    "Targets, as deployed (src/ as it is; the comparison phases* left out):",
    ...targets(deployed),
    ...cliLine,
    "Comparison*: scopes in turn (scopeConcurrency 1, as before issue 6), warm:",
    ...targets(only("steady-warm-sequential")),
    "Comparison*: cold start without a snapshot (as before issue 6):",
    ...targets(only("steady-cold")),
  ];
}

function cliSection(results: BenchResults): string[] {
  const rows = results.sizes.flatMap((size) => {
    const cli = size.cli;
    if (!cli) return [];
    const target = size.conversations * TARGETS.steadyReadUnitsPerConversation;
    const row = (label: string, run: CliRun, api: string, verdict: string) => [
      int(size.conversations),
      label,
      run.exitCode === 0 ? int(run.wallMs) : `exit ${run.exitCode}`,
      pollSeconds(run.summary),
      api,
      snapshotEntries(run.snapshotLoaded),
      int(run.dynamo.requests),
      wireOperations(run.dynamo),
      num(run.dynamo.readUnits, 1),
      num(run.dynamo.writeUnits, 1),
      verdict,
    ];
    return [
      row("first", cli.first, "", ""),
      ...cli.steady.map((run, index) =>
        row(
          `steady ${index + 1}`,
          run,
          `${int(run.api.requests)} = ${int(cli.lowerBoundPages)}`,
          `${num(run.dynamo.readUnits, 1)} <= ${num(target, 0)}, ${num(run.dynamo.writeUnits, 1)} = 0: ${
            run.exitCode === 0 && run.dynamo.readUnits <= target && run.dynamo.writeUnits === 0 ? "PASS" : "MISS"
          }`,
        ),
      ),
    ];
  });
  if (rows.length === 0) return [];
  return [
    "`respondent-notifier poll --once` itself, each run a fresh process (its own table, one `*` subscription; DynamoDB",
    " counted on the wire by a proxy in front of DynamoDB Local; process ms includes Node and tsx start-up; poll s is the",
    " CLI's own summary line; API req = LB pages for the one `*` scope)",
    "",
    table(
      [
        "N",
        "run",
        "process ms",
        "poll s",
        "API req = LB",
        "snapshot entries loaded",
        "DDB req",
        "DynamoDB operations (command partition: requests x read/write units)",
        "RCU",
        "WCU",
        "RCU <= N/100, WCU = 0",
      ],
      rows,
    ),
    "",
  ];
}

function pollSeconds(summary: string | undefined): string {
  return summary?.match(/\(([\d.]+) s\)$/)?.[1] ?? "";
}

function snapshotEntries(line: string | undefined): string {
  const entries = line?.match(/entries=(\d+)/)?.[1];
  return entries === undefined ? "" : int(Number(entries));
}

function wireOperations(dynamo: DynamoFigures): string {
  const withUnits = Object.entries(dynamo.byOperation).map(
    ([operation, figures]) =>
      `${operation} ${int(figures.requests)}x ${num(figures.readUnits, 1)}r/${num(figures.writeUnits, 1)}w`,
  );
  const others = Object.entries(dynamo.byCommand)
    .filter(([command]) => !Object.keys(dynamo.byOperation).some((operation) => operation.startsWith(`${command} `)))
    .map(([command, count]) => `${command} ${int(count)}x`);
  return [...withUnits, ...others].join("; ") || "none";
}

export function renderReport(results: BenchResults): string {
  const { options } = results;
  const out: string[] = [];
  out.push(
    `Benchmark ${results.startedAt} on ${results.machine.cpus} x ${results.machine.cpuModel}, Node ${results.machine.node}` +
      (results.commit ? `, commit ${results.commit.slice(0, 8)} (plus uncommitted changes, if any)` : ""),
    `Simulator: ${options.projects} projects, ${options.latencyMs} ms per request, page size cap ${options.pageSizeCap}; ` +
      `poller asks for ${options.pageSize} a page, ${options.concurrency} requests in flight, ` +
      `${options.scopeConcurrency ?? DEFAULT_SCOPE_CONCURRENCY} projects at once; ${options.newReplies} new replies.`,
    "",
    "Polls (LB = lower bound: pages x latency / concurrency; steady phases: median of --repeat runs;",
    " max in flight: the simulator's maximum since it started; RSS = poller process: peak sampled every 20 ms",
    " during the poll / process maxRSS so far, worst run)",
    "",
    table(
      [
        "N",
        "phase",
        "wall ms",
        "LB ms",
        "x LB",
        "API req",
        "LB pages",
        "max in flight",
        "req/s",
        "DDB req",
        "RCU",
        "WCU",
        "RSS MB",
        "alerts",
        "pages",
        "time",
        "conc.",
        "DDB<=N/100",
        "mem",
      ],
      results.sizes.flatMap(pollRows),
    ),
    "",
    "*  comparison, not as deployed: the same src/ run as before issue 6, either listing the projects one after another",
    "   (poll option scopeConcurrency 1) or starting cold without the seen-cache snapshot (deployed, that happens only to",
    "   the first container after a deploy, or when the snapshot cannot be read).",
    "",
  );
  out.push(...summary(results), "");
  out.push(...cliSection(results));

  out.push(
    "Lower bounds per N",
    "",
    table(
      ["N", "conversations per project", "applied page size", "LB pages", "LB ms", "best ms, scopes one after another"],
      results.sizes.map((size) => [
        int(size.conversations),
        Object.values(size.conversationsByProject).map(int).join(", "),
        String(size.appliedPageSize),
        int(size.lowerBound.pages),
        int(size.lowerBound.timeMs),
        int(size.lowerBound.scopeSequentialTimeMs),
      ]),
    ),
    "",
    "DynamoDB and SQS per poll cycle (DynamoDB by API command, and by operation, item.access: requests x read/write",
    " units, from the client's capacity hook; SQS requests by command, from a middleware on the platform's SQS client)",
    "",
    table(
      ["N", "phase", "commands", "operations", "SQS"],
      results.sizes.flatMap((size) =>
        size.phases.map((phase) => [
          int(size.conversations),
          PHASE_LABELS[phase.phase],
          commands(phase.poll.dynamo),
          operations(phase.poll.dynamo),
          queueCommands(phase.poll.queue.byCommand),
        ]),
      ),
    ),
    "",
    "Diagnostics: wall time of every run, poller and simulator CPU (2 cores shared), heap, alert delivery",
    "",
    table(
      [
        "N",
        "phase",
        "wall ms, runs",
        "machine busy %",
        "1st page ms",
        "x (LB + sim CPU)",
        "poller CPU ms",
        "CPU ms / page",
        "simulator CPU ms",
        "heap retained MB",
        "cache entries",
        "delivery",
      ],
      results.sizes.flatMap((size) =>
        size.phases.map((phase) => {
          const cpu = phase.poll.cpuUserMs + phase.poll.cpuSystemMs;
          const delivery = phase.delivery;
          return [
            int(size.conversations),
            PHASE_LABELS[phase.phase],
            phase.runs.wallMs.map(int).join(" / "),
            phase.runs.machineBusyPercent.map(String).join(" / "),
            int(phase.poll.pageTimesMs[0] ?? 0),
            num(phase.poll.wallMs / (size.lowerBound.timeMs + phase.api.cpuMs), 2),
            int(cpu),
            num(cpu / Math.max(1, phase.poll.report.pagesFetched), 1),
            int(phase.api.cpuMs),
            num(phase.poll.memory.retainedHeapMb),
            int(phase.poll.cacheEntries),
            delivery
              ? `${delivery.alertsDelivered} alerts in ${int(delivery.wallMs)} ms, ${int(delivery.dynamo.requests)} DDB req, ` +
                `${num(delivery.dynamo.readUnits)} RCU / ${num(delivery.dynamo.writeUnits)} WCU, SQS ${queueCommands(delivery.queue.byCommand)}`
              : "",
          ];
        }),
      ),
    ),
    "",
    "Seen-cache snapshot: the save of the first poll cycle (the poller saves after a poll that changed its SeenCache, at most every 15 minutes)",
    "",
    table(
      ["N", "entries", "parts", "KB stored", "WCU", "ms"],
      results.sizes.map((size) => [
        int(size.conversations),
        int(size.snapshotSave.entries),
        String(size.snapshotSave.parts),
        num(size.snapshotSave.bytes / 1024),
        num(size.snapshotSave.writeUnits),
        int(size.snapshotSave.wallMs),
      ]),
    ),
    "",
    `Cost of the measured polls at 1-minute polling (${PRICES.source}); ${options.coldStartsPerDay} cold starts a day assumed. Partial: the whole bill, alarms and logs included, follows below`,
    "",
    table(
      [
        "N",
        "DynamoDB",
        "of which snapshot saves",
        "DDB if all cold",
        "DDB if all cold, no snapshot",
        "Lambda",
        "SQS (idle)",
        "Secrets",
        "Logs",
        "Metrics",
        "total",
        "total without snapshot",
        "per 1k alerts",
      ],
      results.sizes.map((size) => {
        const cost = size.cost.deployed;
        return [
          int(size.conversations),
          usd(cost.dynamoDb),
          usd(cost.dynamoDbSnapshotSaves),
          usd(cost.dynamoDbAllCold),
          usd(size.cost.noSnapshot.dynamoDbAllCold),
          usd(cost.lambda),
          usd(cost.sqs),
          usd(cost.secretsManager),
          usd(cost.cloudWatchLogs),
          usd(cost.cloudWatchMetrics),
          usd(cost.total),
          usd(size.cost.noSnapshot.total),
          `$${cost.per1000Alerts.toFixed(4)}`,
        ];
      }),
    ),
    "",
  );

  if (results.bundles.length > 0) {
    out.push(
      "Lambda bundles (built like the stack: ESM, minified, AWS SDK bundled; import timed in a fresh node, median of 5)",
      "",
      table(
        [
          "bundle",
          "KB",
          "gzip KB",
          "map KB",
          "import ms",
          "import ms, source maps on",
          "node process ms",
          "empty node ms",
          "largest packages (KB)",
        ],
        results.bundles.map((bundle) => [
          bundle.name,
          num(bundle.bytes / 1024),
          num(bundle.gzipBytes / 1024),
          num(bundle.sourceMapBytes / 1024),
          int(bundle.importMs),
          int(bundle.importWithSourceMapsMs),
          int(bundle.processMs),
          int(bundle.emptyNodeMs),
          bundle.largestPackages.map((entry) => `${entry.name} ${num(entry.bytes / 1024, 0)}`).join(", "),
        ]),
      ),
      "",
    );
  }
  const burst = results.burst;
  if (burst) {
    const verdict =
      burst.duplicates === 0 &&
      burst.distinctAlerts === burst.eventsQueued &&
      burst.deadLettered === 0 &&
      burst.stillQueued === 0
        ? "PASS"
        : "MISS";
    out.push(
      `Slack burst (${verdict}): ${int(burst.replies)} replies found by one poll, to ${burst.channels} channels; the fake Slack takes one post per second per channel (429 with Retry-After beyond it)`,
      "",
      table(
        [
          "events queued",
          "posts",
          "distinct alerts",
          "duplicates",
          "429s",
          "dead-lettered",
          "left queued",
          "drain s",
          "LB s",
          "x LB",
        ],
        [
          [
            int(burst.eventsQueued),
            int(burst.posts),
            int(burst.distinctAlerts),
            int(burst.duplicates),
            int(burst.rateLimitedAnswers),
            int(burst.deadLettered),
            int(burst.stillQueued),
            num(burst.drainSeconds),
            int(burst.lowerBoundSeconds),
            burst.lowerBoundSeconds > 0 ? num(burst.drainSeconds / burst.lowerBoundSeconds, 2) : "-",
          ],
        ],
      ),
      "(LB: the busiest channel's alerts at one a second; the notifier keeps each channel's pace itself and delivers other channels meanwhile)",
      "",
    );
  }
  return out.join("\n");
}
