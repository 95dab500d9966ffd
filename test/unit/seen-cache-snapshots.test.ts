import { describe, expect, it } from "vitest";
import { StateUnavailableError } from "../../src/errors.ts";
import type { Log, SeenSnapshotLoad, SeenSnapshotSave, SeenSnapshotStore } from "../../src/ports.ts";
import {
  SEEN_SNAPSHOT_SAVE_INTERVAL_MS,
  SeenCacheSnapshots,
  TrackedSeenCache,
} from "../../src/usecases/seen-snapshot.ts";

const MINUTE = 60_000;

/** An in-memory snapshot store that can be told to fail. */
class MemorySnapshotStore implements SeenSnapshotStore {
  stored = new Map<string, string>();
  savedAt: Date | undefined;
  loads = 0;
  saves = 0;
  failLoads = false;
  failSaves = false;

  async loadInto(cache: Map<string, string>): Promise<SeenSnapshotLoad> {
    this.loads += 1;
    if (this.failLoads) throw new StateUnavailableError("could not read the seen-cache snapshot: throttled");
    for (const [uid, message] of this.stored) cache.set(uid, message);
    return { entries: this.stored.size, parts: 1, unreadableParts: 0, savedAt: this.savedAt };
  }

  async save(cache: ReadonlyMap<string, string>): Promise<SeenSnapshotSave> {
    this.saves += 1;
    if (this.failSaves) throw new StateUnavailableError("could not save the seen-cache snapshot: throttled");
    this.stored = new Map(cache);
    return { entries: cache.size, parts: 1, bytes: 10 };
  }
}

function setup(options: { savedMinutesAgo?: number } = {}) {
  let now = Date.parse("2026-06-01T12:00:00.000Z");
  const store = new MemorySnapshotStore();
  store.stored.set("conversation-1", "message-1");
  if (options.savedMinutesAgo !== undefined) store.savedAt = new Date(now - options.savedMinutesAgo * MINUTE);
  const warnings: string[] = [];
  const ignore = () => undefined;
  const log: Log = { debug: ignore, info: ignore, warn: (message) => warnings.push(message), error: ignore };
  const cache = new TrackedSeenCache();
  const snapshots = new SeenCacheSnapshots({ store, cache, clock: { now: () => new Date(now) }, log });
  return {
    store,
    cache,
    snapshots,
    warnings,
    later: (minutes: number) => {
      now += minutes * MINUTE;
    },
  };
}

describe("TrackedSeenCache", () => {
  it("counts the changes of its entries and not the writes that change nothing", () => {
    const cache = new TrackedSeenCache();

    cache.set("conversation-1", "message-1");
    cache.set("conversation-1", "message-1");
    cache.set("conversation-1", "message-2");
    cache.delete("conversation-2");
    cache.delete("conversation-1");

    expect(cache.changes).toBe(3);
  });
});

describe("SeenCacheSnapshots", () => {
  it("loads the snapshot into the cache on the first call only", async () => {
    const { store, cache, snapshots } = setup();

    await snapshots.restoreOnce();
    await snapshots.restoreOnce();

    expect(store.loads).toBe(1);
    expect(cache.get("conversation-1")).toBe("message-1");
  });

  it("goes on without the snapshot when it cannot be loaded, and says so", async () => {
    const { store, cache, snapshots, warnings } = setup();
    store.failLoads = true;

    await expect(snapshots.restoreOnce()).resolves.toBeUndefined();

    expect(cache.size).toBe(0);
    expect(warnings).toEqual([expect.stringContaining("could not load the seen-cache snapshot")]);
  });

  it("saves nothing while the cache is as loaded, however much time passes", async () => {
    const { store, snapshots, later } = setup({ savedMinutesAgo: 60 });
    await snapshots.restoreOnce();
    later(120);

    expect(await snapshots.saveIfDue()).toBe("unchanged");
    expect(store.saves).toBe(0);
  });

  it("saves a changed cache at most once per interval, counted from the loaded snapshot's save", async () => {
    const { store, cache, snapshots, later } = setup({ savedMinutesAgo: 5 });
    await snapshots.restoreOnce();

    cache.set("conversation-2", "message-1");
    const afterFiveMinutes = await snapshots.saveIfDue();
    later(SEEN_SNAPSHOT_SAVE_INTERVAL_MS / MINUTE - 5);
    const afterFifteen = await snapshots.saveIfDue();
    cache.set("conversation-3", "message-1");
    later(1);
    const oneMinuteLater = await snapshots.saveIfDue();

    expect([afterFiveMinutes, afterFifteen, oneMinuteLater]).toEqual(["not_due", "saved", "not_due"]);
    expect(store.saves).toBe(1);
    expect(store.stored.has("conversation-2")).toBe(true);
  });

  it("saves after the first change when there was no snapshot to load", async () => {
    const { store, cache, snapshots } = setup();
    store.stored.clear();
    await snapshots.restoreOnce();

    cache.set("conversation-1", "message-1");

    expect(await snapshots.saveIfDue()).toBe("saved");
    expect(store.stored).toEqual(new Map([["conversation-1", "message-1"]]));
  });

  it("never throws on a failed save, and tries again only an interval later", async () => {
    const { store, cache, snapshots, warnings, later } = setup();
    await snapshots.restoreOnce();
    store.failSaves = true;
    cache.set("conversation-2", "message-1");

    const failed = await snapshots.saveIfDue();
    later(1);
    const tooSoon = await snapshots.saveIfDue();
    store.failSaves = false;
    later(SEEN_SNAPSHOT_SAVE_INTERVAL_MS / MINUTE);
    const retried = await snapshots.saveIfDue();

    expect([failed, tooSoon, retried]).toEqual(["failed", "not_due", "saved"]);
    expect(warnings).toEqual([expect.stringContaining("could not save the seen-cache snapshot")]);
  });
});
