import {
  type AttributeValue,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { ConfigError, describeError, StateUnavailableError } from "../../errors.ts";
import type { Log } from "../../ports.ts";

/**
 * The single-table layout, shared by the adapters and the CDK stack:
 *
 * | item                | pk                      | sk                          |
 * | ------------------- | ----------------------- | --------------------------- |
 * | conversation state  | CONV#<conversationUid>  | STATE                       |
 * | subscription        | SUBS                    | SUB#<projectId>#<channelId> |
 * | delivery ledger     | LEDGER#<eventId>        | CH#<channelId>              |
 * | Slack thread        | THREAD#<conversationUid>| CH#<channelId>              |
 * | health record       | HEALTH                  | POLLER / NOTIFIER           |
 * | seen-cache snapshot | SEENSNAP                | PART#<nnnn>                 |
 * | Reply submission    | REPLY#<submissionKey>   | SUBMISSION                  |
 * | alert marked read   | READMARK#<channelId>    | TS#<alertTs>                |
 * | project name        | PROJECT#<projectId>     | NAME                        |
 * | conversation mute   | MUTES                   | CONV#<uid>#CH#<channelId>   |
 * | replies of a day    | COUNT#<uid>#<channelId> | DAY#<yyyy-mm-dd>            |
 * | digest              | DIGEST#<digestId>       | DIGEST                      |
 * | reply held for it   | DIGEST#<digestId>       | REPLY#<createdAt>#<eventId> |
 * | digest due          | DIGESTS                 | DUE#<dueAt>#<digestId>      |
 * | poll lease          | LEASE                   | POLLER                      |
 */
export const TABLE_KEY = { partitionKey: "pk", sortKey: "sk" } as const;
/** Epoch seconds: an item worth keeping only for a while carries it, and DynamoDB deletes it after. */
export const TTL_ATTRIBUTE = "expiresAt";

export const SUBSCRIPTIONS_PARTITION = "SUBS";
export const SEEN_SNAPSHOT_PARTITION = "SEENSNAP";

export type ItemKey = { pk: { S: string }; sk: { S: string } };
export type Item = Record<string, AttributeValue>;

function itemKey(pk: string, sk: string): ItemKey {
  return { pk: { S: pk }, sk: { S: sk } };
}

export const CONVERSATION_PARTITION_PREFIX = "CONV#";
export const conversationStateKey = (conversationUid: string): ItemKey =>
  itemKey(`${CONVERSATION_PARTITION_PREFIX}${conversationUid}`, "STATE");
export const subscriptionKey = (projectId: string, channelId: string): ItemKey =>
  itemKey(SUBSCRIPTIONS_PARTITION, `SUB#${projectId}#${channelId}`);
export const deliveryKey = (eventId: string, channelId: string): ItemKey =>
  itemKey(`LEDGER#${eventId}`, `CH#${channelId}`);
export const threadKey = (conversationUid: string, channelId: string): ItemKey =>
  itemKey(`THREAD#${conversationUid}`, `CH#${channelId}`);
export const healthKey = (component: string): ItemKey => itemKey("HEALTH", component.toUpperCase());
export const replyKey = (submissionKey: string): ItemKey => itemKey(`REPLY#${submissionKey}`, "SUBMISSION");
export const readMarkKey = (channelId: string, alertTs: string): ItemKey =>
  itemKey(`READMARK#${channelId}`, `TS#${alertTs}`);
export const projectKey = (projectId: string): ItemKey => itemKey(`PROJECT#${projectId}`, "NAME");
export const MUTES_PARTITION = "MUTES";
export const muteKey = (conversationUid: string, channelId: string): ItemKey =>
  itemKey(MUTES_PARTITION, `CONV#${conversationUid}#CH#${channelId}`);
export const replyCountKey = (conversationUid: string, channelId: string, day: string): ItemKey =>
  itemKey(`COUNT#${conversationUid}#${channelId}`, `DAY#${day}`);
export const DIGEST_PARTITION_PREFIX = "DIGEST#";
export const digestKey = (digestId: string): ItemKey => itemKey(`${DIGEST_PARTITION_PREFIX}${digestId}`, "DIGEST");
export const HELD_REPLY_PREFIX = "REPLY#";
export const heldReplyKey = (digestId: string, createdAt: string, eventId: string): ItemKey =>
  itemKey(`${DIGEST_PARTITION_PREFIX}${digestId}`, `${HELD_REPLY_PREFIX}${createdAt}#${eventId}`);
export const DIGESTS_DUE_PARTITION = "DIGESTS";
export const DUE_PREFIX = "DUE#";
export const digestDueKey = (dueAt: string, digestId: string): ItemKey =>
  itemKey(DIGESTS_DUE_PARTITION, `${DUE_PREFIX}${dueAt}#${digestId}`);
export const pollLeaseKey = (): ItemKey => itemKey("LEASE", "POLLER");
export const pollChainKey = (): ItemKey => itemKey("CHAIN", "POLLER");

/**
 * An optimistic write of a revisioned item (health records, the feed state): the new revision, and
 * the condition that the stored one is still `expectedRevision` (undefined: the item must not exist
 * yet; 0: an item without a revision, unreadable or written by hand, is replaced too).
 */
export function revisionedWrite(expectedRevision: number | undefined): {
  revision: AttributeValue;
  condition: { ConditionExpression: string; ExpressionAttributeValues?: Item };
} {
  return {
    revision: { N: String((expectedRevision ?? 0) + 1) },
    condition:
      expectedRevision === undefined
        ? { ConditionExpression: "attribute_not_exists(pk)" }
        : {
            ConditionExpression:
              expectedRevision === 0
                ? "attribute_not_exists(revision) OR revision = :expected"
                : "revision = :expected",
            ExpressionAttributeValues: { ":expected": { N: String(expectedRevision) } },
          },
  };
}

/** A string attribute of an item, or undefined when absent or of another type. */
export function stringAttribute(item: Item | undefined, name: string): string | undefined {
  return item?.[name]?.S;
}

/** A number attribute of an item, or undefined when absent, of another type or not a number. */
export function numberAttribute(item: Item | undefined, name: string): number | undefined {
  const text = item?.[name]?.N;
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Plain JSON data (what a zod schema outputs) to attributes; undefined fields are left out. */
export function toAttributes(values: Record<string, unknown>): Item {
  const item: Item = {};
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined) item[name] = toAttributeValue(value as JsonValue);
  }
  return item;
}

function toAttributeValue(value: JsonValue): AttributeValue {
  if (value === null) return { NULL: true };
  if (typeof value === "string") return { S: value };
  if (typeof value === "number") return { N: String(value) };
  if (typeof value === "boolean") return { BOOL: value };
  if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
  return { M: toAttributes(value) };
}

/** The reverse of toAttributes; binary and set attributes (which we never write) become undefined. */
export function fromAttributes(item: Item): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) values[name] = fromAttributeValue(value);
  return values;
}

function fromAttributeValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) return value.L.map(fromAttributeValue);
  if (value.M !== undefined) return fromAttributes(value.M);
  return undefined;
}

const TABLE_ACTIVE_TIMEOUT_MS = 60_000;

/**
 * Creates the table when missing (on-demand, pk/sk strings), waits until it is ACTIVE and
 * turns on TTL. Safe to run at every start and from several processes at once. Throws
 * ConfigError when a table of that name exists with another key schema.
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: { log?: Log } = {},
): Promise<void> {
  try {
    let table = await describeTable(client, tableName);
    if (!table) {
      options.log?.debug("creating DynamoDB table", { tableName });
      table = await createTable(client, tableName);
    }
    const schemaProblem = keySchemaProblem(tableName, table);
    if (schemaProblem) throw new ConfigError("TABLE_NAME", `${schemaProblem}: choose another table name`);
    if (table.TableStatus !== "ACTIVE") await waitUntilActive(client, tableName);
    await enableTimeToLive(client, tableName, options.log);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StateUnavailableError) throw error;
    throw new StateUnavailableError(`could not prepare DynamoDB table "${tableName}": ${describeError(error)}`);
  }
}

/** A readable problem with the table (missing, wrong key schema, unreachable), or undefined when it is usable. */
export async function describeTableProblem(client: DynamoDBClient, tableName: string): Promise<string | undefined> {
  let table: TableDescription | undefined;
  try {
    table = await describeTable(client, tableName);
  } catch (error) {
    return `could not describe DynamoDB table "${tableName}": ${describeError(error)}`;
  }
  if (!table) return `DynamoDB table "${tableName}" does not exist`;
  return keySchemaProblem(tableName, table);
}

async function describeTable(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    const result = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return result.Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

async function createTable(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  try {
    const result = await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: TABLE_KEY.partitionKey, AttributeType: "S" },
          { AttributeName: TABLE_KEY.sortKey, AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: TABLE_KEY.partitionKey, KeyType: "HASH" },
          { AttributeName: TABLE_KEY.sortKey, KeyType: "RANGE" },
        ],
      }),
    );
    if (result.TableDescription) return result.TableDescription;
  } catch (error) {
    // Another process created it between our DescribeTable and CreateTable.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const table = await describeTable(client, tableName);
  if (!table) throw new StateUnavailableError(`DynamoDB table "${tableName}" vanished while being created`);
  return table;
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  for (;;) {
    const table = await describeTable(client, tableName);
    if (table?.TableStatus === "ACTIVE") return;
    if (Date.now() >= deadline) {
      throw new StateUnavailableError(
        `DynamoDB table "${tableName}" is ${table?.TableStatus ?? "missing"} after ${TABLE_ACTIVE_TIMEOUT_MS / 1000} s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function enableTimeToLive(client: DynamoDBClient, tableName: string, log: Log | undefined): Promise<void> {
  const current = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = current.TimeToLiveDescription?.TimeToLiveStatus;
  const attribute = current.TimeToLiveDescription?.AttributeName;
  if (status === "ENABLED" || status === "ENABLING") {
    if (attribute !== TTL_ATTRIBUTE) {
      log?.warn("table TTL is on another attribute; short-lived items will not expire", { tableName, attribute });
    }
    return;
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    );
  } catch (error) {
    if (!(error instanceof Error && /already enabled/i.test(error.message))) throw error;
  }
}

function keySchemaProblem(tableName: string, table: TableDescription): string | undefined {
  const types = new Map(
    (table.AttributeDefinitions ?? []).map((definition) => [definition.AttributeName, definition.AttributeType]),
  );
  const describe = (name: string | undefined, keyType: string) => `${keyType} ${name} (${types.get(name) ?? "?"})`;
  const actual = (table.KeySchema ?? []).map((element) => describe(element.AttributeName, element.KeyType ?? "?"));
  const matches =
    actual.length === 2 &&
    table.KeySchema?.[0]?.AttributeName === TABLE_KEY.partitionKey &&
    table.KeySchema?.[0]?.KeyType === "HASH" &&
    table.KeySchema?.[1]?.AttributeName === TABLE_KEY.sortKey &&
    table.KeySchema?.[1]?.KeyType === "RANGE" &&
    types.get(TABLE_KEY.partitionKey) === "S" &&
    types.get(TABLE_KEY.sortKey) === "S";
  if (matches) return undefined;
  return `DynamoDB table "${tableName}" has the key schema ${actual.join(", ") || "(none)"}; expected HASH ${TABLE_KEY.partitionKey} (S), RANGE ${TABLE_KEY.sortKey} (S)`;
}
