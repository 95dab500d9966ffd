import { z } from "zod";

/**
 * The fast-poll chain (polling below a minute, src/usecases/poll-chain.ts): each poll is one
 * invocation started by a tick message, which sends the next tick with a delay. A tick names its
 * chain and its place in it, so that a duplicate, a redelivery or a tick of a replaced chain can
 * tell it is not the one the chain expects and stop.
 */
export const pollTickSchema = z.object({
  kind: z.literal("poll-tick"),
  chainId: z.string().min(1).max(100),
  /** 1 for a chain's first tick; each tick sends seq + 1. */
  seq: z.number().int().min(1),
});

export type PollTick = z.infer<typeof pollTickSchema>;

/** Where a chain is: its id, the last tick that advanced it and when that tick started. */
export interface PollChainState {
  chainId: string;
  seq: number;
  tickedAt: Date;
}

export function serializeTick(tick: Omit<PollTick, "kind">): string {
  return JSON.stringify({ kind: "poll-tick", chainId: tick.chainId, seq: tick.seq } satisfies PollTick);
}

/** The tick a message body holds, or undefined when it is not one (said why in `problem`). */
export function parseTick(body: string): { tick: PollTick } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { problem: "the message body is not JSON" };
  }
  const parsed = pollTickSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { problem: `not a poll tick: ${issue?.path.join(".") || "body"} ${issue?.message ?? "is invalid"}` };
  }
  return { tick: parsed.data };
}

/**
 * How long after a tick started the chain counts as dead if no later tick has advanced it: the
 * tick's poll may run to the poller's timeout, its successor waits up to one interval in the
 * queue, and the event source takes a moment to hand it over.
 */
export function chainStaleAfterMs(intervalSeconds: number, pollerTimeoutSeconds: number): number {
  return (intervalSeconds + pollerTimeoutSeconds + CHAIN_HANDOVER_SLACK_SECONDS) * 1000;
}

/** The event source's delay in handing a due message to the function, with room for a cold start. */
export const CHAIN_HANDOVER_SLACK_SECONDS = 15;

/**
 * The delay before the next tick: what is left of the interval after this tick's poll, whole
 * seconds (SQS's unit), never negative. A poll that overran its interval is followed at once.
 */
export function nextTickDelaySeconds(intervalSeconds: number, elapsedMs: number): number {
  return Math.max(0, Math.min(intervalSeconds, Math.round(intervalSeconds - elapsedMs / 1000)));
}
