import { randomUUID } from "node:crypto";
import { chainStaleAfterMs, nextTickDelaySeconds, type PollChainState, type PollTick } from "../domain/poll-chain.ts";
import type { Clock, Log, Metrics, PollChainStore, PollTickQueue } from "../ports.ts";

/**
 * Polling below a minute without a Lambda that sleeps (POLL_INTERVAL_SECONDS 10 to 30, deployed):
 * each poll is one invocation, started by a tick message on an SQS delay queue; after its poll
 * the tick sends the next one, delayed by what is left of the interval. EventBridge Scheduler's
 * one-minute schedule is the chain's watchdog: it starts the chain on the first minute and
 * starts a new one when no tick has advanced it for longer than a tick can take.
 *
 * One chain at a time: a tick first advances the chain's item in the table from its seq - 1 to
 * its seq (one conditional write). A duplicate or redelivered tick, or a tick of a chain the
 * watchdog has replaced, fails that condition and stops without polling or sending, so an
 * extra chain dies at its next tick. Overlapping polls stay harmless anyway (conditional state
 * writes, the ledger); the condition only keeps the chain single and the bill flat.
 */

/** The poller function's timeout (infra/constructs/poller.ts uses it): a tick's poll never runs longer. */
export const POLLER_TIMEOUT_SECONDS = 55;

export interface PollChainPorts {
  chain: PollChainStore;
  ticks: PollTickQueue;
  clock: Clock;
  log: Log;
  metrics: Metrics;
  /** Ids of new chains (random UUIDs; tests name theirs). */
  newChainId?: () => string;
}

export interface PollChainSettings {
  intervalSeconds: number;
  pollerTimeoutSeconds?: number;
}

export type TickOutcome<T> =
  | { ran: true; value: T; nextTickInSeconds: number }
  /** Not the tick the chain expects (a duplicate, a redelivery, a replaced chain): nothing done. */
  | { ran: false };

/**
 * One tick: advance the chain, run `poll` (which reports its own failures, as pollCycle does),
 * then send the next tick. The next tick is sent even when the poll threw, so a failing poll
 * never ends the chain; a failure to advance (the table) or to send (SQS) throws, and the
 * watchdog starts a new chain once this one counts as dead.
 */
export async function runPollTick<T>(
  ports: PollChainPorts,
  settings: PollChainSettings,
  tick: PollTick,
  poll: () => Promise<T>,
): Promise<TickOutcome<T>> {
  const startedAt = ports.clock.now();
  if (!(await ports.chain.advance(tick, startedAt))) {
    ports.metrics.count("PollTicksStale");
    ports.log.info("poll tick ignored: the chain has moved on (a duplicate or redelivered tick, or a replaced chain)", {
      chainId: tick.chainId,
      seq: tick.seq,
    });
    return { ran: false };
  }
  let delay = settings.intervalSeconds;
  try {
    const value = await poll();
    delay = nextTickDelaySeconds(settings.intervalSeconds, ports.clock.now().getTime() - startedAt.getTime());
    return { ran: true, value, nextTickInSeconds: delay };
  } finally {
    await ports.ticks.send({ chainId: tick.chainId, seq: tick.seq + 1 }, delay);
  }
}

export type WatchdogOutcome =
  | { chain: "alive"; state: PollChainState }
  | { chain: "started"; chainId: string; replaced: PollChainState | undefined }
  /** Between this watchdog's read and its write the chain advanced, or another watchdog started one. */
  | { chain: "moved-on" };

/**
 * The watchdog's minute: nothing when the chain has ticked recently; otherwise a new chain,
 * whose first tick is due at once. Throws when the table or the queue cannot be reached (the
 * Lambda then polls once itself, so an outage of the chain slows polling to the minute).
 */
export async function watchPollChain(ports: PollChainPorts, settings: PollChainSettings): Promise<WatchdogOutcome> {
  const now = ports.clock.now();
  const state = await ports.chain.read();
  const staleAfterMs = chainStaleAfterMs(
    settings.intervalSeconds,
    settings.pollerTimeoutSeconds ?? POLLER_TIMEOUT_SECONDS,
  );
  if (state && now.getTime() - state.tickedAt.getTime() < staleAfterMs) return { chain: "alive", state };

  const next: PollChainState = { chainId: (ports.newChainId ?? randomUUID)(), seq: 0, tickedAt: now };
  if (!(await ports.chain.replace(next, state))) return { chain: "moved-on" };
  await ports.ticks.send({ chainId: next.chainId, seq: 1 }, 0);
  ports.metrics.count("PollChainsStarted");
  if (state) {
    ports.log.warn("the poll chain had stopped; started a new one", {
      stoppedChainId: state.chainId,
      lastTickAt: state.tickedAt.toISOString(),
      staleAfterSeconds: staleAfterMs / 1000,
      chainId: next.chainId,
    });
  } else {
    ports.log.info("started the poll chain", { chainId: next.chainId, intervalSeconds: settings.intervalSeconds });
  }
  return { chain: "started", chainId: next.chainId, replaced: state };
}
