import { brotliCompressSync, brotliDecompressSync, constants } from "node:zlib";
import { type DynamoDBClient, PutItemCommand, QueryCommand, type QueryCommandOutput } from "@aws-sdk/client-dynamodb";
import { type DynamoStoreOptions, reportCapacity } from "../src/adapters/dynamo/client.ts";
import type { Item } from "../src/adapters/dynamo/table.ts";
import type { SeenCache } from "../src/usecases/poll.ts";

/**
 * PROTOTYPE of the proposed fix for cold-start polls (not in src/): the poller's SeenCache,
 * persisted as a few compressed items, so that a fresh Lambda container starts warm.
 *
 * Why it is safe: every cache entry says "the stored state of conversation C had reached
 * message M". State only moves forward, so that stays true for ever, however old the
 * snapshot: an entry can only let the poller skip a conversation whose latestMessage is
 * still M, which cannot hold anything new. A stale or partial snapshot costs reads (a miss
 * falls back to the per-conversation item), never an alert. So the snapshot is read with
 * eventually consistent reads and written without conditions.
 *
 * Layout: pk `SEENSNAP`, sk `PART#<n>`, attribute `data` = brotli("<conversationUid>\t<messageUid>\n"...).
 * 5,000 entries a shard keep each item far below DynamoDB's 400 KB even before compression.
 * Only GetItem/PutItem/Query are used: the actions the poller's role already has.
 */

const SNAPSHOT_PARTITION = "SEENSNAP";
const ENTRIES_PER_SHARD = 5_000;

export interface SnapshotSaveResult {
  entries: number;
  shards: number;
  bytes: number;
}

export class SeenSnapshotStore {
  /** Shards known to exist (from the last load or save), so a shrinking snapshot deletes its tail. */
  private knownShards = 0;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoStoreOptions = {},
  ) {}

  /** Fills `cache` from the stored snapshot; returns how many entries were loaded. */
  async loadInto(cache: SeenCache): Promise<number> {
    let loaded = 0;
    let shards = 0;
    let startKey: Item | undefined;
    do {
      const page: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": { S: SNAPSHOT_PARTITION } },
          ConsistentRead: false,
          ExclusiveStartKey: startKey,
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      reportCapacity(this.options.onConsumedCapacity, "snapshot.load", "read", page.ConsumedCapacity);
      for (const item of page.Items ?? []) {
        const data = item.data?.B;
        if (!data) continue;
        shards += 1;
        for (const line of brotliDecompressSync(data).toString("utf8").split("\n")) {
          const tab = line.indexOf("\t");
          if (tab <= 0) continue;
          cache.set(line.slice(0, tab), line.slice(tab + 1));
          loaded += 1;
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    this.knownShards = shards;
    return loaded;
  }

  async save(cache: SeenCache): Promise<SnapshotSaveResult> {
    const entries = [...cache];
    const shards = Math.ceil(entries.length / ENTRIES_PER_SHARD);
    let bytes = 0;
    for (let shard = 0; shard < shards; shard += 1) {
      const text = entries
        .slice(shard * ENTRIES_PER_SHARD, (shard + 1) * ENTRIES_PER_SHARD)
        .map(([conversationUid, messageUid]) => `${conversationUid}\t${messageUid}\n`)
        .join("");
      const data = brotliCompressSync(text, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
      bytes += data.byteLength;
      const result = await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: SNAPSHOT_PARTITION },
            sk: { S: shardKey(shard) },
            data: { B: data },
            savedAt: { S: new Date().toISOString() },
          },
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      reportCapacity(this.options.onConsumedCapacity, "snapshot.save", "write", result.ConsumedCapacity);
    }
    // Emptied rather than deleted: the poller's role has PutItem and no DeleteItem.
    for (let stale = shards; stale < this.knownShards; stale += 1) {
      const result = await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: { S: SNAPSHOT_PARTITION }, sk: { S: shardKey(stale) }, savedAt: { S: new Date().toISOString() } },
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      reportCapacity(this.options.onConsumedCapacity, "snapshot.save", "write", result.ConsumedCapacity);
    }
    this.knownShards = shards;
    return { entries: entries.length, shards, bytes };
  }
}

function shardKey(shard: number): string {
  return `PART#${String(shard).padStart(4, "0")}`;
}
