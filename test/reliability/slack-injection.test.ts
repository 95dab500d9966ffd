import fc from "fast-check";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { createSqsClient } from "../../src/adapters/sqs-queue.ts";
import { formatAlert } from "../../src/domain/alert.ts";
import { eventIdFor, type NewReplyEvent } from "../../src/domain/events.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import type { RecordedPost } from "../../src/local/fake-slack.ts";
import { runsFor, seedOption } from "../support/reliability/history.ts";
import {
  conversationItem,
  minutesAfterStart,
  pollHostileApi,
  SUBSCRIBED_AT,
  subscriptionFor,
} from "../support/reliability/hostile.ts";

const raw = createDynamoDbClient({ tableName: "unused", region: "us-east-1", endpoint: inject("dynamodbEndpoint") });
const rawSqs = createSqsClient({ region: "us-east-1", endpoint: inject("sqsEndpoint") });
const clients = { dynamo: raw, sqs: rawSqs };
afterAll(() => {
  raw.destroy();
  rawSqs.destroy();
});

const PROJECT = "64b7f0c2e4b0a1b2c3d4e5c3";
const FULL_CHANNEL = "C0INJECT001";
const PREVIEW_CHANNEL = "C0INJECT002";

/** Our own markup: the localized date. Anything else starting with `<` would be Slack control syntax. */
const OUR_DATE =
  /<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}, \d{2}:\d{2} [A-Za-z0-9+:-]+>/g;
const INVISIBLE = /[\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;
/** A joiner between two ASCII characters hides nothing legitimate: it only splits `<!chan‍nel>`. */
const ASCII_JOINER = /[\x21-\x7e][\u200C\u200D][\x21-\x7e]/;

/** Every string of a message by how Slack reads it: mrkdwn (parsed: mentions, links) or plain text. */
function textsOf(message: { text: string; blocks: unknown[] }): { mrkdwn: string[]; plain: string[] } {
  const mrkdwn = [message.text];
  const plain: string[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === "object") {
      const record = node as Record<string, unknown>;
      if (typeof record.text === "string" && record.type === "mrkdwn") mrkdwn.push(record.text);
      if (typeof record.text === "string" && record.type === "plain_text") plain.push(record.text);
      Object.values(record).forEach(visit);
    }
  };
  visit(message.blocks);
  return { mrkdwn, plain };
}

/** Nothing can ping or disguise a link: no `<` reaches a mrkdwn string except our date, and no invisible character anywhere. */
function injectionProblems(message: { text: string; blocks: unknown[] }): string[] {
  const { mrkdwn, plain } = textsOf(message);
  const problems: string[] = [];
  for (const text of mrkdwn) {
    const rest = text.replace(OUR_DATE, "");
    if (rest.includes("<"))
      problems.push(`mrkdwn keeps a raw "<": ${JSON.stringify(rest.slice(rest.indexOf("<"), rest.indexOf("<") + 40))}`);
  }
  for (const text of [...mrkdwn, ...plain]) {
    if (INVISIBLE.test(text)) problems.push(`an invisible character survived in ${JSON.stringify(text.slice(0, 80))}`);
    if (ASCII_JOINER.test(text))
      problems.push(`a joiner between ASCII characters survived in ${JSON.stringify(text.slice(0, 80))}`);
  }
  return problems;
}

const PAYLOADS = [
  "<!channel> please reply now",
  "<!here> anyone?",
  "<!everyone> hello",
  "<@U0123ABCD> and <!subteam^S0123ABCD> and <#C0123ABCD>",
  "<https://evil.example/login|https://app.respondent.io/verify>",
  "already escaped &lt;!channel&gt; &amp; friends",
  "<!chan\u200Bnel> <\u200B!here> <!ev\u200Dery\u2060one> \uFEFF<@U0123ABCD>",
  "\u202Egnp.exe\u202C and \u2066isolated\u2069",
  "> quoted <!channel>\n>>> <!here>",
];

describe("participant text that tries Slack injection", () => {
  it("reaches Slack inert in both blocks and text: nothing pings, no link is disguised, escaped text stays visible, invisible characters are gone", async () => {
    const messages = PAYLOADS.map((body, index) => ({
      uid: `inj-${index}`,
      createdAt: minutesAfterStart(index + 1),
      body: `ref inj-${index}: ${body}`,
    }));
    const outcome = await pollHostileApi(clients, {
      listing: () => [
        conversationItem(
          "hostile",
          PROJECT,
          messages,
          { firstName: "<!channel> Eve\u200B", lastName: "<@U0123ABCD>" },
          "<!here> study <https://evil.example|Click me>",
        ),
      ],
      subscriptions: [
        subscriptionFor(PROJECT, FULL_CHANNEL),
        subscriptionSchema.parse({
          projectId: PROJECT,
          channelId: PREVIEW_CHANNEL,
          body: "preview",
          createdAt: SUBSCRIBED_AT,
        }),
      ],
    });

    expect(outcome.posts).toHaveLength(PAYLOADS.length * 2);
    for (const post of outcome.posts) {
      expect(injectionProblems(post), post.text).toEqual([]);
      expect(post).toMatchObject({ unfurlLinks: false, unfurlMedia: false });
    }
    const full = outcome.posts.filter((post) => post.channel === FULL_CHANNEL);
    const visible = (post: RecordedPost | undefined) => JSON.stringify(post?.blocks);
    // What the participant typed is shown as typed, escaped: the reader sees "<!channel>", Slack does not act on it.
    expect(visible(full[0])).toContain("&lt;!channel&gt; please reply now");
    expect(visible(full[4])).toContain("&lt;https://evil.example/login|https://app.respondent.io/verify&gt;");
    expect(visible(full[5])).toContain("&amp;lt;!channel&amp;gt; &amp;amp; friends");
    expect(visible(full[6])).toContain("&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U0123ABCD&gt;");
    expect(full[0]?.text).toContain("&lt;!channel&gt; Eve");
    expect(full[0]?.text).toContain("&lt;!here&gt; study &lt;https://evil.example|Click me&gt;");
  });

  const hostileText = fc
    .array(
      fc.constantFrom(
        "<",
        ">",
        "&",
        "|",
        "!channel",
        "!here",
        "!everyone",
        "@U0123ABCD",
        "#C0123ABCD",
        "!subteam^S0123ABCD",
        "http://evil.example",
        "mailto:x@y.z",
        "&lt;",
        "&gt;",
        "&amp;",
        "&#60;",
        "\u200B",
        "\u200C",
        "\u200D",
        "\u2060",
        "\uFEFF",
        "\u202E",
        "\u2066",
        "\u0000",
        "\u001B[31m",
        "*",
        "_",
        "~",
        "`",
        "\n",
        "\r\n",
        " ",
        "a",
        "é",
        "e\u0301",
        "👨‍👩‍👧",
        "🇯🇵",
        "日本",
        "مرحبا",
      ),
      { maxLength: 40 },
    )
    .map((pieces) => pieces.join(""));

  it("stays inert for any mix of Slack control syntax, entities, invisible characters and emoji in every participant-controlled field", () => {
    fc.assert(
      fc.property(
        fc.record({
          body: hostileText,
          firstName: hostileText,
          lastName: hostileText,
          name: hostileText,
          projectId: hostileText,
          mode: fc.constantFrom("full" as const, "preview" as const),
          repeated: fc.boolean(),
        }),
        ({ body, firstName, lastName, name, projectId, mode, repeated }) => {
          const event: NewReplyEvent = {
            version: 1,
            eventId: eventIdFor("conv", "msg"),
            detectedAt: "2026-03-02T12:00:00.000Z",
            conversation: { uid: "conv", name, projectId },
            message: { uid: "msg", createdAt: "2026-03-02T11:59:00.000Z", body, bodyTruncated: false },
            sender: { known: true, uid: "p1", firstName, lastName },
            targets: [],
          };
          const target = {
            subscriptionId: "s",
            channelId: FULL_CHANNEL,
            mentions: [],
            threadPerConversation: true,
            body: mode,
          };
          const message = formatAlert(event, target, { possiblyRepeated: repeated });
          expect(injectionProblems(message)).toEqual([]);
        },
      ),
      { numRuns: runsFor(300) * 4, ...seedOption() },
    );
  });
});
