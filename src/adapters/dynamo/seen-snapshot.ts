import { brotliCompressSync, brotliDecompressSync, constants } from "node:zlib";
import { type DynamoDBClient, PutItemCommand, QueryCommand, type QueryCommandOutput } from "@aws-sdk/client-dynamodb";
import { describeError, StateUnavailableError } from "../../errors.ts";
import {
  type Clock,
  type Log,
  type SeenSnapshotLoad,
  type SeenSnapshotSave,
  type SeenSnapshotStore,
  systemClock,
} from "../../ports.ts";
import { type Item, numberAttribute, SEEN_SNAPSHOT_PARTITION, stringAttribute } from "./table.ts";

/**
 * The poller's SeenCache, persisted as a few compressed items so that a fresh Lambda container
 * starts warm instead of reading every conversation's state (N read units) on its first poll.
 *
 * Why a snapshot can never cost an alert: an entry says only "the stored state of conversation
 * C had reached message M". State never moves back, so that stays true however old the entry
 * is, and the poller uses it only to skip a conversation whose latestMessage is still M, which
 * cannot hold anything new. An entry that is stale (the state moved on since the save) or
 * missing (a partial snapshot, an entry left out) does not match the API's latestMessage, so
 * the poller reads the per-conversation state as it would without a snapshot, and writes stay
 * conditional on that state. So a stale or partial snapshot costs reads, never a missed or
 * duplicate alert, and it is read with eventually consistent reads and written without any
 * condition. A part that cannot be read (corrupt, or of another format) is logged and ignored.
 *
 * Layout: pk `SEENSNAP`, sk `PART#<nnnn>`, attribute `data` = brotli(JSON array of
 * [conversationUid, messageUid] pairs). Parts are cut well below DynamoDB's 400 KB item limit
 * even before compression. Only PutItem and Query are used, which the poller's role has.
 *
 * Whoever deletes `CONV#` state items to make the poller alert again must delete `SEENSNAP`
 * too (and restart the poller, whose warm cache says the same thing).
 */

const FORMAT = 1;
const PART_KEY_PREFIX = "PART#";
const MAX_ENTRIES_PER_PART = 5_000;
/** JSON bytes per part before compression: below the 400 KB item limit whatever the uids look like. */
const MAX_PART_BYTES = 300_000;
/** Longer uids than any real API sends are left out (each costs a read, as without a snapshot). */
const MAX_ENTRY_BYTES = 2_000;
const BROTLI_QUALITY = 5;

export interface DynamoSeenSnapshotStoreOptions {
  clock?: Clock;
  /** Told about parts that cannot be read (they are ignored). */
  log?: Log;
}

export class DynamoSeenSnapshotStore implements SeenSnapshotStore {
  private readonly clock: Clock;
  /** Parts known to hold data (from the last load or save), so a shrinking snapshot empties its tail. */
  private knownParts = 0;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoSeenSnapshotStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Adds the stored entries to `cache`, keeping any entry it already has (it is at least as recent). */
  async loadInto(cache: Map<string, string>): Promise<SeenSnapshotLoad> {
    const result: SeenSnapshotLoad = { entries: 0, parts: 0, unreadableParts: 0, savedAt: undefined };
    let startKey: Item | undefined;
    do {
      let page: QueryCommandOutput;
      try {
        page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": { S: SEEN_SNAPSHOT_PARTITION } },
            ConsistentRead: false,
            ExclusiveStartKey: startKey,
          }),
        );
      } catch (error) {
        throw new StateUnavailableError(`could not read the seen-cache snapshot: ${describeError(error)}`);
      }
      for (const item of page.Items ?? []) this.loadPart(item, cache, result);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    this.knownParts = result.parts + result.unreadableParts;
    return result;
  }

  private loadPart(item: Item, cache: Map<string, string>, into: SeenSnapshotLoad): void {
    if (item.data === undefined) return; // emptied by a save that needed fewer parts
    const data = item.data.B;
    const pairs = data && numberAttribute(item, "format") === FORMAT ? decodePart(data) : undefined;
    if (!pairs) {
      into.unreadableParts += 1;
      this.options.log?.warn("ignoring an unreadable seen-cache snapshot part; its conversations are read instead", {
        sk: stringAttribute(item, "sk"),
      });
      return;
    }
    into.parts += 1;
    for (const [conversationUid, messageUid] of pairs) {
      if (!cache.has(conversationUid)) cache.set(conversationUid, messageUid);
      into.entries += 1;
    }
    const savedAt = Date.parse(stringAttribute(item, "savedAt") ?? "");
    // The oldest part dates the snapshot: a save may have stopped half way.
    if (!Number.isNaN(savedAt) && (into.savedAt === undefined || savedAt < into.savedAt.getTime())) {
      into.savedAt = new Date(savedAt);
    }
  }

  /** Replaces the stored snapshot with `cache`, part by part. */
  async save(cache: ReadonlyMap<string, string>): Promise<SeenSnapshotSave> {
    const parts = splitIntoParts(cache);
    const savedAt = this.clock.now().toISOString();
    let bytes = 0;
    for (const [index, part] of parts.entries()) {
      const data = brotliCompressSync(part.json, { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } });
      bytes += data.byteLength;
      await this.put(
        {
          sk: { S: partKey(index) },
          format: { N: String(FORMAT) },
          entries: { N: String(part.entries) },
          data: { B: data },
          savedAt: { S: savedAt },
        },
        parts.length,
      );
    }
    // Emptied rather than deleted: the poller's role has PutItem and no DeleteItem.
    for (let stale = parts.length; stale < this.knownParts; stale += 1) {
      await this.put({ sk: { S: partKey(stale) }, savedAt: { S: savedAt } }, parts.length);
    }
    this.knownParts = parts.length;
    return { entries: parts.reduce((sum, part) => sum + part.entries, 0), parts: parts.length, bytes };
  }

  private async put(attributes: Item, parts: number): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: { S: SEEN_SNAPSHOT_PARTITION }, ...attributes },
        }),
      );
    } catch (error) {
      throw new StateUnavailableError(
        `could not save the seen-cache snapshot (${parts} parts): ${describeError(error)}`,
      );
    }
  }
}

function partKey(index: number): string {
  return `${PART_KEY_PREFIX}${String(index).padStart(4, "0")}`;
}

/** JSON arrays of [conversationUid, messageUid], each within the entry and byte limits of a part. */
function splitIntoParts(cache: ReadonlyMap<string, string>): Array<{ json: string; entries: number }> {
  const parts: Array<{ json: string; entries: number }> = [];
  let pairs: string[] = [];
  let bytes = 2;
  const close = () => {
    if (pairs.length > 0) parts.push({ json: `[${pairs.join(",")}]`, entries: pairs.length });
    pairs = [];
    bytes = 2;
  };
  for (const [conversationUid, messageUid] of cache) {
    const pair = JSON.stringify([conversationUid, messageUid]);
    const pairBytes = Buffer.byteLength(pair) + 1;
    if (pairBytes > MAX_ENTRY_BYTES) continue;
    if (pairs.length >= MAX_ENTRIES_PER_PART || bytes + pairBytes > MAX_PART_BYTES) close();
    pairs.push(pair);
    bytes += pairBytes;
  }
  close();
  return parts;
}

/** The pairs of a part, or undefined when it cannot be decompressed or is not an array; odd entries are skipped. */
function decodePart(data: Uint8Array): Array<[string, string]> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(brotliDecompressSync(data).toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const pairs: Array<[string, string]> = [];
  for (const entry of parsed) {
    if (Array.isArray(entry) && entry.length === 2 && typeof entry[0] === "string" && typeof entry[1] === "string") {
      pairs.push([entry[0], entry[1]]);
    }
  }
  return pairs;
}
