import { describe, expect, it } from "vitest";
import { escapeMrkdwn } from "../../src/domain/untrusted-text.ts";

describe("escapeMrkdwn", () => {
  it("escapes &, < and > and strips invisible characters", () => {
    expect(escapeMrkdwn("<!channel> & <@U1> &lt; \u200B>")).toBe("&lt;!channel&gt; &amp; &lt;@U1&gt; &amp;lt; &gt;");
  });
});
