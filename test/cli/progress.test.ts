import { describe, expect, it } from "vitest";
import { createStatusLine } from "../../src/cli/progress.ts";

function recorder() {
  const written: string[] = [];
  return { written, write: (text: string) => written.push(text) };
}

describe("the progress line", () => {
  it("off a terminal prints the first update, every fifth, and the last one when the work ends", () => {
    const { written, write } = recorder();
    const progress = createStatusLine({ write, isTTY: false, enabled: true });

    for (let page = 1; page <= 8; page += 1) progress.update(`… page ${page}`);
    progress.done();

    expect(written).toEqual(["… page 1\n", "… page 6\n", "… page 8\n"]);
  });

  it("on a terminal rewrites one line in place, cut to the width, and moves it out of the way of other output", () => {
    const { written, write } = recorder();
    const progress = createStatusLine({ write, isTTY: true, enabled: true, columns: 12 });

    progress.update("… page 1");
    progress.update("… page 2, 100 conversations");
    progress.around(() => write("a log line\n"));
    progress.done();

    expect(written).toEqual([
      "\r\u001b[2K… page 1",
      "\r\u001b[2K… page 2, …",
      "\r\u001b[2K",
      "a log line\n",
      "… page 2, …",
      "\r\u001b[2K",
    ]);
  });

  it("writes nothing when disabled (--log-level warn or higher)", () => {
    const { written, write } = recorder();
    const progress = createStatusLine({ write, isTTY: true, enabled: false });

    progress.update("… page 1");
    progress.done();

    expect(written).toEqual([]);
  });
});
