import { describe, expect, it } from "vitest";
import { formatAlert } from "../../src/domain/alert.ts";
import type { NewReplyEvent } from "../../src/domain/events.ts";
import { renderPostForTerminal } from "../../src/local/render-terminal.ts";

const event: NewReplyEvent = {
  version: 1,
  eventId: "e".repeat(64),
  detectedAt: "2026-06-01T12:00:30.000Z",
  conversation: { uid: "conv-1", name: "Usability study <!here>", projectId: "project-a" },
  message: {
    uid: "m1",
    createdAt: "2026-06-01T12:00:00.000Z",
    body: "Hi <@U123> & &lt;b&gt;\nsecond line",
    bodyTruncated: false,
  },
  sender: { known: true, firstName: "Jane", lastName: "Doe" },
  targets: [],
};

const alert = formatAlert(
  event,
  {
    subscriptionId: "s",
    channelId: "C0000000001",
    mentions: ["U0123456789", "here"],
    threadPerConversation: true,
    body: "full",
  },
  {
    conversationUrlTemplate: "https://app.respondent.io/messages/{conversationUid}",
    possiblyRepeated: false,
    project: { name: "Checkout usability", title: "Tell us how you shop online" },
    timeZone: "Europe/Berlin",
    replyOfDay: 3,
  },
);

describe("rendering a post for the terminal", () => {
  it("shows an alert as Slack would: header, mentions, fields (project by name, local time), quoted body, context (the day's count, the ids) and the buttons", () => {
    const rendered = renderPostForTerminal({ channel: "C0000000001", ...alert });

    expect(rendered).toBe(
      [
        "#C0000000001 · new thread",
        "  💬 Jane D. replied in “Usability study <!here>”",
        "  🔔 @U0123456789 @here",
        "  From: Jane D.",
        "  Conversation: Usability study <!here>",
        "  Project: Checkout usability · Tell us how you shop online",
        "  Sent: Mon 1 Jun, 14:00 CEST",
        "  │ Hi <@U123> & &lt;b&gt;",
        "  │ second line",
        "  3rd reply today · Respondent conversation conv-1 · project project-a",
        "  [↩️ Reply]",
        "  [✓ Mark as read]",
        "  [🔕 Mute]",
        "  [Open conversation] https://app.respondent.io/messages/conv-1",
      ].join("\n"),
    );
  });

  it("says which thread a reply goes to", () => {
    const rendered = renderPostForTerminal({ channel: "C0000000001", ...alert, threadTs: "1700000000.000100" });

    expect(rendered.split("\n")[0]).toBe("#C0000000001 · reply in thread 1700000000.000100");
  });

  it("uses ANSI bold only when color is on, and never passes control characters through", () => {
    const post = {
      channel: "C1",
      text: "x",
      blocks: [{ type: "header", text: { type: "plain_text", text: "a\u001b]0;pwned\u0007b" } }],
    };

    expect(renderPostForTerminal(post)).toBe("#C1 · new thread\n  a]0;pwnedb");
    expect(renderPostForTerminal({ ...post, color: true })).toContain("\u001b[1ma]0;pwnedb\u001b[0m");
  });

  it("falls back to the text when a post has no blocks, with links as label (url)", () => {
    const rendered = renderPostForTerminal({
      channel: "C1",
      text: "see <https://x.example|the docs> &amp; <!channel>",
      blocks: [],
    });

    expect(rendered).toBe("#C1 · new thread\n  see the docs (https://x.example) & @channel");
  });
});
