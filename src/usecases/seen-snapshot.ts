import { describeError } from "../errors.ts";
import type { Clock, Log, SeenSnapshotStore } from "../ports.ts";

/**
 * A warm poller saves its SeenCache at most this often (and only when it changed). A save
 * writes about N/80 units (661 WCU at 50,000 conversations): every 3 hours that is about
 * $0.10 a month at 50,000 ($0.30 hourly, $1.20 every 15 minutes), against up to $18 for a save
 * after every changed poll. An older snapshot only costs a new container the reads of what
 * changed since (a few dozen items for a busy study; cold starts are about 12 a day).
 */
export const SEEN_SNAPSHOT_SAVE_INTERVAL_MS = 3 * 60 * 60_000;

/** A SeenCache that counts its changes, so that a snapshot is saved only when it would differ. */
export class TrackedSeenCache extends Map<string, string> {
  #changes = 0;

  // No initial entries: Map's constructor would call set() before #changes exists.
  // biome-ignore lint/complexity/noUselessConstructor: narrows Map's constructor to no arguments
  constructor() {
    super();
  }

  /** Grows on every set that changes a value, delete that removes one, and clear of a non-empty cache. */
  get changes(): number {
    return this.#changes;
  }

  override set(conversationUid: string, messageUid: string): this {
    if (super.get(conversationUid) !== messageUid) this.#changes += 1;
    return super.set(conversationUid, messageUid);
  }

  override delete(conversationUid: string): boolean {
    const deleted = super.delete(conversationUid);
    if (deleted) this.#changes += 1;
    return deleted;
  }

  override clear(): void {
    if (this.size > 0) this.#changes += 1;
    super.clear();
  }
}

export interface SeenCacheSnapshotsOptions {
  store: SeenSnapshotStore;
  cache: TrackedSeenCache;
  clock: Clock;
  log: Log;
  saveIntervalMs?: number;
}

/**
 * Carries a poller's SeenCache from one Lambda container to the next: a new container loads the
 * last snapshot before its first poll, so it skips the state reads of every conversation that
 * has not changed since; a warm one saves its cache after a poll that changed it, at most every
 * `saveIntervalMs`. Neither ever fails a poll: a snapshot that cannot be loaded or saved only
 * costs reads on a later cold start (why a stale or partial snapshot is safe:
 * src/adapters/dynamo/seen-snapshot.ts).
 */
export class SeenCacheSnapshots {
  private readonly saveIntervalMs: number;
  private restored = false;
  private changesAtLastSave = 0;
  /** Epoch ms of the last save (ours, or the loaded snapshot's); undefined: save at the first change. */
  private lastSaveAt: number | undefined;

  constructor(private readonly options: SeenCacheSnapshotsOptions) {
    this.saveIntervalMs = options.saveIntervalMs ?? SEEN_SNAPSHOT_SAVE_INTERVAL_MS;
  }

  /** Loads the snapshot into the cache the first time it is called; later calls do nothing. */
  async restoreOnce(): Promise<void> {
    if (this.restored) return;
    this.restored = true;
    const { store, cache, log } = this.options;
    const startedAt = performance.now();
    try {
      const loaded = await store.loadInto(cache);
      this.lastSaveAt = loaded.savedAt?.getTime();
      log.info("seen-cache snapshot loaded", {
        entries: loaded.entries,
        parts: loaded.parts,
        unreadableParts: loaded.unreadableParts,
        savedAt: loaded.savedAt?.toISOString(),
        durationMs: Math.round(performance.now() - startedAt),
      });
    } catch (error) {
      log.warn("could not load the seen-cache snapshot; the first poll reads the conversation states instead", {
        reason: describeError(error),
      });
    }
    this.changesAtLastSave = cache.changes;
  }

  /** Saves the cache when it changed since the last save and that save is at least saveIntervalMs old. */
  async saveIfDue(): Promise<"saved" | "unchanged" | "not_due" | "failed"> {
    const { store, cache, clock, log } = this.options;
    const changes = cache.changes;
    if (changes === this.changesAtLastSave) return "unchanged";
    const now = clock.now().getTime();
    if (this.lastSaveAt !== undefined && now - this.lastSaveAt < this.saveIntervalMs) return "not_due";
    // A failed save waits for the next interval too, rather than retrying after every poll.
    this.lastSaveAt = now;
    const startedAt = performance.now();
    try {
      const saved = await store.save(cache);
      this.changesAtLastSave = changes;
      log.info("seen-cache snapshot saved", { ...saved, durationMs: Math.round(performance.now() - startedAt) });
      return "saved";
    } catch (error) {
      log.warn("could not save the seen-cache snapshot; the poll is not affected, the next save is tried later", {
        reason: describeError(error),
        retryInMs: this.saveIntervalMs,
      });
      return "failed";
    }
  }
}
