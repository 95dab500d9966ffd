import type { KnownBlock } from "@slack/web-api";
import { describe, expect, it } from "vitest";
import {
  type AlertContext,
  formatAlert,
  HIDDEN_BODY_NOTE,
  MARK_READ_ACTION_ID,
  MAX_NOTIFICATION_TEXT,
  MUTE_ACTION_ID,
  POSSIBLY_REPEATED_NOTE,
  parseAlertButtonValue,
  REPLY_ACTION_ID,
  type SlackMessage,
  UNKNOWN_SENDER,
} from "../../src/domain/alert.ts";
import type { AlertTarget, NewReplyEvent } from "../../src/domain/events.ts";
import { TRUNCATION_MARKER } from "../../src/domain/untrusted-text.ts";

type EventOverrides = {
  conversation?: Partial<NewReplyEvent["conversation"]>;
  message?: Partial<NewReplyEvent["message"]>;
  sender?: Partial<NewReplyEvent["sender"]>;
};

function replyEvent(overrides: EventOverrides = {}): NewReplyEvent {
  const target = alertTarget();
  return {
    version: 1,
    eventId: "e".repeat(64),
    detectedAt: "2026-06-01T12:00:30.000Z",
    conversation: {
      uid: "conv-1",
      name: "Usability study – Jane",
      projectId: "64b7f0c2e4b0a1b2c3d4e5f6",
      ...overrides.conversation,
    },
    message: {
      uid: "m1",
      createdAt: "2026-06-01T12:00:00.000Z",
      body: "Thanks, Thursday works for me.",
      bodyTruncated: false,
      ...overrides.message,
    },
    sender: { known: true, uid: "participant-1", firstName: "Jane", lastName: "Doe", ...overrides.sender },
    targets: [target],
  };
}

function alertTarget(overrides: Partial<AlertTarget> = {}): AlertTarget {
  return {
    subscriptionId: "64b7f0c2e4b0a1b2c3d4e5f6#C0000000001",
    channelId: "C0000000001",
    mentions: [],
    threadPerConversation: true,
    body: "full",
    ...overrides,
  };
}

const plainContext: AlertContext = { possiblyRepeated: false };
const linkTemplate = "https://app.respondent.io/messages/{conversationUid}?project={projectId}";

function format(
  overrides: EventOverrides = {},
  target: Partial<AlertTarget> = {},
  context: AlertContext = plainContext,
): SlackMessage {
  return formatAlert(replyEvent(overrides), alertTarget(target), context);
}

/** Every string Slack parses as mrkdwn: section text and fields, context elements, and `text`. */
function mrkdwnStrings(message: SlackMessage): string[] {
  const strings = [message.text];
  for (const block of message.blocks) {
    if (block.type === "section") {
      if (block.text?.type === "mrkdwn") strings.push(block.text.text);
      for (const field of block.fields ?? []) if (field.type === "mrkdwn") strings.push(field.text);
    }
    if (block.type === "context") {
      for (const element of block.elements) if (element.type === "mrkdwn") strings.push(element.text);
    }
  }
  return strings;
}

function contextTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block) =>
    block.type === "context"
      ? block.elements.flatMap((element) => (element.type === "mrkdwn" ? [element.text] : []))
      : [],
  );
}

function headerText(message: SlackMessage): string {
  const header = message.blocks.find((block) => block.type === "header");
  if (header?.type !== "header") throw new Error("no header block");
  return header.text.text;
}

function sectionTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block) =>
    block.type === "section" && block.text?.type === "mrkdwn" ? [block.text.text] : [],
  );
}

/** The quoted body sections, in order. */
function bodySections(message: SlackMessage): string[] {
  return sectionTexts(message).filter((text) => text.startsWith("> "));
}

function unquote(section: string): string {
  return section.replace(/^> /, "").replace(/\n> /g, "\n");
}

function buttonUrls(message: SlackMessage): string[] {
  return message.blocks.flatMap((block: KnownBlock) =>
    block.type === "actions"
      ? block.elements.flatMap((element) => (element.type === "button" && element.url ? [element.url] : []))
      : [],
  );
}

/** The control sequences (`<...>`) a message contains: only ones we wrote may appear. */
function controlSequences(message: SlackMessage): string[] {
  return mrkdwnStrings(message).flatMap((text) => text.match(/<[^<>]*>/g) ?? []);
}

const INJECTIONS = ["<!channel>", "<!here>", "<@U123>", "<https://evil.example/login|Open in Respondent>"];

describe("escaping untrusted text", () => {
  it.each(INJECTIONS)("shows %s typed in the body literally, in the blocks and in the notification text", (payload) => {
    const message = format({ message: { body: `please read ${payload} now` } });

    expect(controlSequences(message).filter((sequence) => !sequence.startsWith("<!date^"))).toEqual([]);
    const escaped = payload.replace(/</g, "&lt;").replace(/>/g, "&gt;");
    expect(bodySections(message).join("")).toContain(escaped);
    expect(message.text).toContain(escaped);
  });

  it.each(INJECTIONS)("escapes %s in the participant's names, the conversation name and the project id", (payload) => {
    const message = format({
      sender: { firstName: `Jane${payload}`, lastName: `${payload}Doe` },
      conversation: { name: `Study ${payload}`, projectId: `p${payload}` },
    });

    expect(controlSequences(message).filter((sequence) => !sequence.startsWith("<!date^"))).toEqual([]);
    expect(mrkdwnStrings(message).join("\n")).toContain(`Study ${payload.replace(/</g, "&lt;").replace(/>/g, "&gt;")}`);
  });

  it("shows text that is already escaped (&lt;) as typed, by escaping its ampersand", () => {
    const message = format({ message: { body: "a &lt;b&gt; &amp; c" } });

    expect(bodySections(message)).toEqual(["> a &amp;lt;b&amp;gt; &amp;amp; c"]);
    expect(message.text).toContain("a &amp;lt;b&amp;gt; &amp;amp; c");
  });

  it("removes zero-width characters so <!chan\\u200Bnel> cannot slip past as something else", () => {
    const message = format({
      message: { body: "<!chan\u200Bnel> <!he\u2060re> \uFEFF<@U1\u200D23>" },
      conversation: { name: "Stu\u200Bdy" },
    });

    const everything = [...mrkdwnStrings(message), headerText(message)].join("\n");
    expect(everything).not.toMatch(/[\u200B-\u200F\u2060-\u2064\uFEFF]/);
    expect(bodySections(message)).toEqual(["> &lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt;"]);
    expect(message.text).toContain("&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt;");
    expect(everything).toContain("Study");
  });

  it("removes bidi overrides and isolates that could reverse how a link or name reads", () => {
    const message = format({
      message: { body: "pay \u202Egnp.exe\u202C now \u2067x\u2069" },
      sender: { firstName: "\u202EenaJ" },
    });

    const everything = [...mrkdwnStrings(message), headerText(message)].join("\n");
    expect(everything).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u061C]/);
  });

  it("removes terminal and other control characters but keeps line breaks and tabs", () => {
    const message = format({ message: { body: "red\u001b[31m\u0007 text\nline two\twith tab" } });

    expect(bodySections(message)).toEqual(["> red[31m text\n> line two\twith tab"]);
  });

  it("keeps the header plain (not parsed by Slack) and free of control characters", () => {
    const message = format({ sender: { firstName: "J<a>ne\u200B" }, conversation: { name: "A & B\u0000" } });

    expect(headerText(message)).toBe("💬 J<a>ne D. replied in “A & B”");
  });
});

describe("who, where and when", () => {
  it("names the participant by first name and last initial", () => {
    const message = format({ sender: { firstName: "Jane", lastName: "Doe" } });

    expect(headerText(message)).toBe("💬 Jane D. replied in “Usability study – Jane”");
    expect(mrkdwnStrings(message)).toContain("*From*\nJane D.");
  });

  it("says the sender is unknown when the API did not say who wrote the message", () => {
    const message = format({ sender: { known: false, firstName: undefined, lastName: undefined, uid: undefined } });

    expect(mrkdwnStrings(message)).toContain(`*From*\n${UNKNOWN_SENDER}`);
    expect(message.text.startsWith(`💬 ${UNKNOWN_SENDER} replied in`)).toBe(true);
  });

  it("shows the conversation name and the project id", () => {
    const message = format();

    expect(mrkdwnStrings(message)).toEqual(
      expect.arrayContaining(["*Conversation*\nUsability study – Jane", "*Project*\n64b7f0c2e4b0a1b2c3d4e5f6"]),
    );
  });

  it("says 'no project' when the conversation has none", () => {
    const message = format({ conversation: { projectId: undefined } });

    expect(mrkdwnStrings(message)).toContain("*Project*\n_no project_");
  });

  it("shows when the message was sent as a Slack date token with a readable UTC fallback by default", () => {
    const message = format({ message: { createdAt: "2026-06-01T12:00:00.000Z" } });

    const unix = Date.parse("2026-06-01T12:00:00.000Z") / 1000;
    expect(mrkdwnStrings(message)).toContain(
      `*Sent*\n<!date^${unix}^{date_short_pretty} at {time}|Mon 1 Jun, 12:00 UTC>`,
    );
  });

  it("gives the fallback and the notification in the subscription's zone", () => {
    const message = format(
      { message: { createdAt: "2026-12-01T06:43:29.318Z" } },
      {},
      {
        possiblyRepeated: false,
        timeZone: "Europe/Berlin",
      },
    );

    const unix = Math.floor(Date.parse("2026-12-01T06:43:29.318Z") / 1000);
    expect(mrkdwnStrings(message)).toContain(
      `*Sent*\n<!date^${unix}^{date_short_pretty} at {time}|Tue 1 Dec, 07:43 CET>`,
    );
    expect(message.text).toContain("· Tue 1 Dec, 07:43 CET:");
  });

  it("names the project (its internal name, the participants' title below) and keeps its id in the footer", () => {
    const message = format(
      {},
      {},
      {
        possiblyRepeated: false,
        project: { name: "Checkout <b>usability</b>", title: "Tell us how you shop" },
      },
    );

    expect(mrkdwnStrings(message)).toContain(
      "*Project*\nCheckout &lt;b&gt;usability&lt;/b&gt;\n_Tell us how you shop_",
    );
    expect(contextTexts(message).join(" ")).toContain("project 64b7f0c2e4b0a1b2c3d4e5f6");
    expect(message.text).toContain("(Checkout &lt;b&gt;usability&lt;/b&gt;)");
  });

  it("says which of the conversation's replies today this is", () => {
    expect(contextTexts(format({}, {}, { possiblyRepeated: false, replyOfDay: 1 })).join(" ")).toContain(
      "1st reply today",
    );
    expect(contextTexts(format({}, {}, { possiblyRepeated: false, replyOfDay: 3 })).join(" ")).toContain(
      "3rd reply today",
    );
    expect(contextTexts(format({}, {}, { possiblyRepeated: false })).join(" ")).not.toContain("reply today");
  });

  it("shows an unparseable send time as escaped text instead of a broken date token", () => {
    const message = format({ message: { createdAt: "yesterday <!here>" } });

    expect(mrkdwnStrings(message)).toContain("*Sent*\nyesterday &lt;!here&gt;");
  });

  it("gives a notification text that reads well alone: who, where and the start of the message", () => {
    const message = format();

    expect(message.text).toBe(
      "💬 Jane D. replied in “Usability study – Jane” · Mon 1 Jun, 12:00 UTC: Thanks, Thursday works for me.",
    );
  });
});

describe("body modes", () => {
  const multiLine = "First line\nSecond line\n\nAfter a blank line";

  it("'full' quotes the whole body, every line", () => {
    const message = format({ message: { body: multiLine } }, { body: "full" });

    expect(bodySections(message)).toEqual(["> First line\n> Second line\n> \n> After a blank line"]);
  });

  it("'preview' shows the first 150 characters followed by an ellipsis, in the blocks and the notification", () => {
    const body = `${"a".repeat(150)}${"b".repeat(50)}`;
    const message = format({ message: { body } }, { body: "preview" });

    expect(bodySections(message)).toEqual([`> ${"a".repeat(150)}…`]);
    expect(message.text).toBe(
      `💬 Jane D. replied in “Usability study – Jane” · Mon 1 Jun, 12:00 UTC: ${"a".repeat(150)}…`,
    );
  });

  it("'preview' adds no ellipsis when the whole body fits", () => {
    const message = format({ message: { body: "short" } }, { body: "preview" });

    expect(bodySections(message)).toEqual(["> short"]);
  });

  it("'hidden' leaves the body out of the blocks and the notification and says why", () => {
    const message = format({ message: { body: "my phone number is 555-0100" } }, { body: "hidden" });

    const everything = [...mrkdwnStrings(message), headerText(message)].join("\n");
    expect(everything).not.toContain("555-0100");
    expect(sectionTexts(message)).toContain(HIDDEN_BODY_NOTE);
    expect(message.text).toBe("💬 Jane D. replied in “Usability study – Jane” · Mon 1 Jun, 12:00 UTC");
  });

  it("says the message is empty rather than posting an empty quote", () => {
    const message = format({ message: { body: "  \n " } });

    expect(sectionTexts(message)).toContain("_(empty message)_");
  });
});

describe("limits and truncation", () => {
  it("fits a 1 MB body into quote sections of at most 3,000 characters, marked as truncated", () => {
    const message = format({ message: { body: "word ".repeat(200_000) } });

    const sections = bodySections(message);
    expect(sections.length).toBeGreaterThan(1);
    for (const section of sectionTexts(message)) expect(section.length).toBeLessThanOrEqual(3_000);
    expect(sections.at(-1)?.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(message.text.length).toBeLessThanOrEqual(MAX_NOTIFICATION_TEXT);
  });

  it("never cuts inside an escape entity, even when escaping quadruples the length", () => {
    const message = format({ message: { body: "<&>".repeat(10_000) } });

    for (const section of bodySections(message)) {
      expect(section.length).toBeLessThanOrEqual(3_000);
      expect(unquote(section).replace(TRUNCATION_MARKER, "")).toMatch(/^(&lt;|&amp;|&gt;)+$/);
    }
  });

  it("shows the marker when the poller already cut the body, even though the rest fits", () => {
    const message = format({ message: { body: "the start of a long reply", bodyTruncated: true } });

    expect(bodySections(message)).toEqual([`> the start of a long reply${TRUNCATION_MARKER}`]);
    expect(message.text).toContain("the start of a long reply…");
  });

  it("keeps a header of at most 150 characters, ending in an ellipsis, for very long names", () => {
    const message = format({ sender: { firstName: "J".repeat(1_000) }, conversation: { name: "C".repeat(100_000) } });

    expect(headerText(message).length).toBeLessThanOrEqual(150);
    expect(headerText(message).endsWith("…")).toBe(true);
    for (const text of mrkdwnStrings(message)) expect(text.length).toBeLessThanOrEqual(3_000);
  });

  it("never splits an emoji ZWJ sequence when cutting", () => {
    const family = "👨‍👩‍👧‍👦";
    const message = format({ message: { body: family.repeat(2_000) } });

    const sections = bodySections(message);
    expect(sections.at(-1)?.endsWith(TRUNCATION_MARKER)).toBe(true);
    for (const section of sections) {
      expect(unquote(section).replace(TRUNCATION_MARKER, "")).toMatch(new RegExp(`^(${family})+$`, "u"));
    }
  });

  it("keeps emoji, non-Latin scripts and the joiners they need intact", () => {
    const body = "日本語 · العربية · हिन्दी · می‌خواهم · 👩🏽‍💻 · 🏳️‍🌈 · 🇯🇵";
    const message = format({ message: { body }, sender: { firstName: "Zoë", lastName: "Ωmega" } });

    expect(bodySections(message)).toEqual([`> ${body}`]);
    expect(message.text).toContain(body);
    expect(headerText(message)).toContain("Zoë Ω.");
  });

  it("stays within 50 blocks and every Slack limit with every optional part present", () => {
    const message = format(
      {
        message: { body: "x<".repeat(500_000), bodyTruncated: true },
        sender: { firstName: "&".repeat(10_000), lastName: "<" },
        conversation: { name: ">".repeat(10_000), projectId: "<".repeat(10_000) },
      },
      { mentions: ["U0123456789", "S0123456789", "here", "channel"] },
      { conversationUrlTemplate: linkTemplate, possiblyRepeated: true },
    );

    expect(message.blocks.length).toBeLessThanOrEqual(50);
    expect(headerText(message).length).toBeLessThanOrEqual(150);
    for (const text of mrkdwnStrings(message)) expect(text.length).toBeLessThanOrEqual(3_000);
    expect(message.text.length).toBeLessThanOrEqual(MAX_NOTIFICATION_TEXT);
  });
});

describe("mentions", () => {
  it("mentions the subscription's users, groups, @here and @channel in the blocks and the notification text", () => {
    const message = format({}, { mentions: ["U0123456789", "W0123456789", "S0123456789", "here", "channel"] });

    const expected = "<@U0123456789> <@W0123456789> <!subteam^S0123456789> <!here> <!channel>";
    expect(sectionTexts(message)).toContain(`🔔 ${expected}`);
    expect(message.text.endsWith(` ${expected}`)).toBe(true);
  });

  it("adds no mention line when the subscription has no mentions", () => {
    const message = format({}, { mentions: [] });

    expect(sectionTexts(message).some((text) => text.startsWith("🔔"))).toBe(false);
    expect(controlSequences(message).filter((sequence) => !sequence.startsWith("<!date^"))).toEqual([]);
  });
});

describe("link to the conversation", () => {
  it("adds an 'Open conversation' button with the uid and project URL-encoded into the template", () => {
    const message = format(
      { conversation: { uid: "conv/1?x=<y>", projectId: "p 1" } },
      {},
      { conversationUrlTemplate: linkTemplate, possiblyRepeated: false },
    );

    expect(buttonUrls(message)).toEqual(["https://app.respondent.io/messages/conv%2F1%3Fx%3D%3Cy%3E?project=p%201"]);
  });

  it("adds no link button when no template is configured", () => {
    const message = format();

    expect(buttonUrls(message)).toEqual([]);
  });

  it("adds no button when the template is not an http(s) URL", () => {
    const message = format(
      {},
      {},
      { conversationUrlTemplate: "javascript:alert({conversationUid})", possiblyRepeated: false },
    );

    expect(buttonUrls(message)).toEqual([]);
  });
});

describe("Reply and Mark as read buttons", () => {
  function buttons(message: SlackMessage): Array<{ actionId: string | undefined; value: string | undefined }> {
    return message.blocks.flatMap((block: KnownBlock) =>
      block.type === "actions"
        ? block.elements.flatMap((element) =>
            element.type === "button" ? [{ actionId: element.action_id, value: element.value }] : [],
          )
        : [],
    );
  }

  it("carries respondent_reply, respondent_mark_read and respondent_mute, whose value names the conversation and the message", () => {
    const event = replyEvent({ conversation: { uid: "conv-1" }, message: { uid: "msg-1" } });
    const message = formatAlert(event, alertTarget(), plainContext);

    const found = buttons(message);
    expect(found.map((button) => button.actionId)).toEqual([REPLY_ACTION_ID, MARK_READ_ACTION_ID, MUTE_ACTION_ID]);
    expect(found.map((button) => parseAlertButtonValue(button.value))).toEqual([
      { conversationUid: "conv-1", messageUid: "msg-1" },
      { conversationUid: "conv-1", messageUid: "msg-1" },
      { conversationUid: "conv-1", messageUid: "msg-1" },
    ]);
  });

  it("leaves them out, rather than have Slack refuse the alert, for a conversation uid too long for a button value", () => {
    const message = format({ conversation: { uid: "c".repeat(2_100) } });

    expect(buttons(message)).toEqual([]);
  });

  it("shows neither with actions off (--no-actions), and keeps the link button", () => {
    const message = format({}, { actions: false }, { conversationUrlTemplate: linkTemplate, possiblyRepeated: false });

    expect(buttons(message).map((button) => button.actionId)).toEqual(["open_conversation"]);
  });
});

describe("possibly repeated alerts", () => {
  it("shows a visible warning line when an earlier attempt may already have posted the alert", () => {
    const message = format({}, {}, { possiblyRepeated: true });

    expect(mrkdwnStrings(message)).toContain(POSSIBLY_REPEATED_NOTE);
  });

  it("shows no warning on a first delivery", () => {
    const message = format({}, {}, { possiblyRepeated: false });

    expect(mrkdwnStrings(message)).not.toContain(POSSIBLY_REPEATED_NOTE);
  });
});
