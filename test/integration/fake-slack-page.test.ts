import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { composeHttpRoutes, composeNotifier } from "../../src/app/compose.ts";
import { type HttpServer, serveRoutes } from "../../src/http/server.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { PAGE_USER_ID } from "../../src/local/fake-slack-page.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import { notify } from "../../src/usecases/notify.ts";
import { replyEvent } from "../support/builders.ts";
import { startCli } from "../support/cli.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

const TOKEN = "xoxb-fake-slack-page-test";
const CHANNEL = "C0PAGETEST1";
const ENSURE_CHROMIUM = fileURLToPath(new URL("../../scripts/ensure-chromium.mjs", import.meta.url));

/** Debian's chromium, installed by scripts/ensure-chromium.mjs when missing; its reason when it cannot be. */
function chromiumPath(): string {
  const found = spawnSync(process.execPath, [ENSURE_CHROMIUM], { encoding: "utf8", timeout: 600_000 });
  if (found.status !== 0) throw new Error(`no Chromium for the browser test: ${found.stderr.trim()}`);
  return found.stdout.trim();
}

/**
 * The fake Slack's page in a real headless Chromium (playwright-core): an alert appears as Slack
 * shows it, Reply opens the modal, the text typed there reaches the simulator once, and the
 * thread shows who answered. The page's clicks are real signed requests to POST /slack/events.
 */
describe("the fake Slack's web page in a headless browser", { timeout: 120_000 }, () => {
  let simulator: RespondentSimulator;
  let slack: FakeSlack;
  let platform: TestPlatform;
  let server: HttpServer;
  let browser: Browser;

  beforeAll(async () => {
    const executablePath = chromiumPath();
    simulator = await startRespondentSimulator({ conversations: 3 });
    slack = await startFakeSlack({ token: TOKEN, channels: [CHANNEL] });
    platform = await createTestPlatform({
      prefix: "fake-slack-page",
      respondent: { url: simulator.url, apiKey: simulator.apiKey, apiSecret: simulator.apiSecret },
      slack: { url: slack.url, token: TOKEN, signingSecret: slack.signingSecret },
    });
    server = await serveRoutes({ port: 0, routes: composeHttpRoutes(platform), log: platform.log });
    slack.setRequestUrl(`${server.url}/slack/events`);
    browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await platform?.close();
    await slack?.close();
    await simulator?.close();
  });

  it("shows the alert, opens the Reply modal, sends the typed text to the participant once, and shows it in the thread", async () => {
    const conversationUid = simulator.addConversation({ firstMessage: { from: "participant", body: "Hello?" } });
    const messageUid = simulator.addMessage(conversationUid, { from: "participant", body: "Can we talk at 3?" });
    await notify(replyEvent(conversationUid, messageUid, [CHANNEL]), composeNotifier(platform));
    const page = await browser.newPage();

    await page.goto(slack.pageUrl);
    const alert = page.locator(".message").first();
    await alert.locator(".header").waitFor();
    expect(await alert.locator(".header").textContent()).toContain("Jane D.");
    expect(await alert.textContent()).toContain(`reply ${messageUid}`);

    await alert.getByRole("button", { name: "↩️ Reply" }).click();
    const modal = page.locator("#modal");
    await modal.locator("h2", { hasText: "Reply to participant" }).waitFor();
    await modal.locator("textarea").fill("Yes, 3 pm works. Talk soon!");
    await modal.getByRole("button", { name: "Send" }).click();

    const note = page.locator(".thread .message", { hasText: "replied:" });
    await note.waitFor();
    expect(await note.textContent()).toContain(`@${PAGE_USER_ID} replied:`);
    expect(await note.textContent()).toContain("Yes, 3 pm works. Talk soon!");
    await server.idle();
    expect(simulator.sentMessages.map((sent) => [sent.conversationUid, sent.body])).toEqual([
      [conversationUid, "Yes, 3 pm works. Talk soon!"],
    ]);
    expect(await page.locator("#modal-backdrop").isVisible()).toBe(false);

    await alert.getByRole("button", { name: "✓ Mark as read" }).click();
    await page.locator(".message", { hasText: `Marked as read by @${PAGE_USER_ID}` }).waitFor();
    expect(simulator.readMarks).toEqual([conversationUid]);
    await page.close();
  });

  it("the local demo (respondent-notifier start, no accounts): a reply typed on the page reaches the participant once, and their answer alerts in the thread", async () => {
    const cli = startCli(["start"], {
      DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
      TABLE_NAME: `fake-slack-page-demo-${Date.now()}`,
      POLL_INTERVAL_SECONDS: "2",
      HTTP_PORT: "0",
    });
    const page = await browser.newPage();
    try {
      const [, pageUrl] = await cli.waitFor(/shown, with working buttons, at (http:\/\/127\.0\.0\.1:\d+\/)/);
      await cli.waitFor(/^listening on http:\/\/127\.0\.0\.1:\d+$/m);
      await page.goto(pageUrl ?? "");
      const alert = page.locator("#messages > .message").first();
      await alert.locator(".header").waitFor({ timeout: 90_000 });
      const ts = await alert.getAttribute("data-ts");

      await alert.getByRole("button", { name: "↩️ Reply" }).click();
      const modal = page.locator("#modal");
      await modal.locator("h2", { hasText: "Reply to participant" }).waitFor();
      await modal.locator("textarea").fill("Thanks! Does Thursday at 10 work?");
      await modal.getByRole("button", { name: "Send" }).click();

      const thread = page.locator(`.thread[data-thread="${ts}"]`);
      const note = thread.locator(".message", { hasText: "replied:" });
      await note.waitFor({ timeout: 60_000 });
      // The simulated participant answers what reached them; their answer is alerted after the note.
      await thread.locator('.message:has-text("replied:") ~ .message .header').first().waitFor({ timeout: 90_000 });
      expect(await note.count()).toBe(1);
      expect(await note.textContent()).toContain("Thanks! Does Thursday at 10 work?");
    } finally {
      await page.close();
      expect(await cli.stop()).toBe(0);
    }
  });
});
