import type { Subscription } from "../src/domain/subscriptions.ts";
import { pollScopes } from "../src/domain/subscriptions.ts";
import { type PollPorts, type PollReport, poll } from "../src/usecases/poll.ts";

/**
 * PROTOTYPE of the proposed fix for small polls (not in src/): list the subscribed projects
 * at the same time instead of one after another, within ONE budget of `maxConcurrency`
 * requests in flight. Today each project's first page is fetched alone (it carries
 * totalResults) and projects follow each other, so a poll costs at least
 * (projects x 2 x latency) however few pages there are.
 *
 * Stand-ins for the src/ change, so the real poll() and RespondentApiClient still run:
 * - one poll() per project, all at once, each seeing only its project's subscriptions;
 * - a shared limiter around global fetch (the client's only way out), held until the body is
 *   read, so the server never sees more than `maxConcurrency` requests at once.
 * The src/ change would put the limiter inside RespondentApiClient and the concurrent scope
 * loop inside poll() (see bench/README.md).
 */

class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

export async function pollScopesInParallel(ports: PollPorts, maxConcurrency: number): Promise<PollReport> {
  const startedAt = Date.now();
  const subscriptions = await ports.subscriptions.list();
  const scopes = pollScopes(subscriptions);
  const slots = new Slots(maxConcurrency);
  const originalFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    await slots.acquire();
    try {
      const response = await originalFetch(input, init);
      const body = await response.arrayBuffer();
      return new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } finally {
      slots.release();
    }
  };
  try {
    const reports = await Promise.all(
      scopes.map((scope) => {
        const own = subscriptions.filter(
          (subscription: Subscription) => scope === undefined || subscription.projectId === scope,
        );
        return poll({ ...ports, subscriptions: { list: async () => own } });
      }),
    );
    return merge(reports, subscriptions.length, Date.now() - startedAt);
  } finally {
    globalThis.fetch = originalFetch;
  }
}

function merge(reports: PollReport[], subscriptions: number, durationMs: number): PollReport {
  const sum = (pick: (report: PollReport) => number) => reports.reduce((total, report) => total + pick(report), 0);
  return {
    subscriptions,
    scopes: reports.flatMap((report) => report.scopes),
    pagesFetched: sum((report) => report.pagesFetched),
    conversationsScanned: sum((report) => report.conversationsScanned),
    conversationsChanged: sum((report) => report.conversationsChanged),
    malformedConversations: sum((report) => report.malformedConversations),
    duplicateConversations: sum((report) => report.duplicateConversations),
    newReplies: sum((report) => report.newReplies),
    eventsQueued: sum((report) => report.eventsQueued),
    ownMessages: sum((report) => report.ownMessages),
    stateConflicts: sum((report) => report.stateConflicts),
    failures: reports.flatMap((report) => report.failures),
    events: reports.flatMap((report) => report.events),
    durationMs,
  };
}
