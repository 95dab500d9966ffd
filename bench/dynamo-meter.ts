import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { DynamoFigures, OperationFigures } from "./protocol.ts";

/**
 * A counting HTTP proxy in front of DynamoDB Local, for processes that take no hook (the CLI
 * run as a child process). For every request it reads the command from `X-Amz-Target` and the
 * JSON body, asks DynamoDB for the consumed capacity (`ReturnConsumedCapacity: TOTAL` is added
 * to the commands that accept it; it changes what DynamoDB reports, not what it charges) and
 * adds up what the answer says. The answer is passed back byte for byte, so its checksum holds.
 *
 * It shares no code with the capacity middleware in src/ (src/adapters/dynamo/capacity.ts), so
 * the two count independently. Operations are labelled `<command> <partition prefix>`, e.g.
 * `Query SEENSNAP` or `PutItem CONV`. A write refused by its condition comes back as an error
 * without a figure, yet DynamoDB charges it: it counts as one write unit, like the middleware.
 */

const TARGET_PREFIX = "DynamoDB_20120810.";

/** The commands that accept ReturnConsumedCapacity, and whether their units are reads or writes. */
const KIND_BY_COMMAND: Readonly<Record<string, "read" | "write">> = {
  GetItem: "read",
  BatchGetItem: "read",
  Query: "read",
  Scan: "read",
  TransactGetItems: "read",
  PutItem: "write",
  BatchWriteItem: "write",
  UpdateItem: "write",
  DeleteItem: "write",
  TransactWriteItems: "write",
};

export interface DynamoMeterProxy {
  /** Point DYNAMODB_ENDPOINT here. */
  endpoint: string;
  /** What went through since the last take, per table (every command names its table or tables). */
  take(tableName: string): DynamoFigures;
  close(): Promise<void>;
}

type Capacity = { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number };
type Body = Record<string, unknown>;

export async function startDynamoMeterProxy(target: string): Promise<DynamoMeterProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const byTable = new Map<string, DynamoFigures>();
  const count = (tableName: string, operation: string, command: string, units: { read: number; write: number }) => {
    const figures = byTable.get(tableName) ?? empty();
    byTable.set(tableName, figures);
    figures.requests += 1;
    figures.byCommand[command] = (figures.byCommand[command] ?? 0) + 1;
    if (!KIND_BY_COMMAND[command]) return;
    const entry: OperationFigures = figures.byOperation[operation] ?? { requests: 0, readUnits: 0, writeUnits: 0 };
    entry.requests += 1;
    entry.readUnits += units.read;
    entry.writeUnits += units.write;
    figures.byOperation[operation] = entry;
    figures.readUnits += units.read;
    figures.writeUnits += units.write;
  };

  const server = createServer((incoming, outgoing) => {
    void forward(incoming, outgoing).catch((error: unknown) => {
      outgoing.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });

  async function forward(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const rawRequest = await readAll(incoming);
    const target = String(incoming.headers["x-amz-target"] ?? "");
    const command = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target || "unknown";
    const kind = KIND_BY_COMMAND[command];
    let input: Body = {};
    let body = rawRequest;
    try {
      input = JSON.parse(rawRequest.toString("utf8")) as Body;
      if (kind && (input.ReturnConsumedCapacity === undefined || input.ReturnConsumedCapacity === "NONE")) {
        body = Buffer.from(JSON.stringify({ ...input, ReturnConsumedCapacity: "TOTAL" }));
      }
    } catch {
      // Not JSON: passed on as it is, counted as a request without units.
    }
    const headers = { ...incoming.headers, host: upstream.host, "content-length": String(body.length) };
    // An identity-encoded answer can be read here and passed back unchanged.
    delete headers["accept-encoding"];
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      const sent = request(
        { host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers, agent },
        resolve,
      );
      sent.once("error", reject);
      sent.end(body);
    });
    const rawAnswer = await readAll(answer);
    outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
    outgoing.end(rawAnswer);

    let output: Body = {};
    try {
      output = JSON.parse(rawAnswer.toString("utf8")) as Body;
    } catch {
      // An answer that is not JSON has no capacity figure.
    }
    const units = { read: 0, write: 0 };
    if ((answer.statusCode ?? 500) < 300) {
      addCapacity(units, kind ?? "read", output.ConsumedCapacity as Capacity | Capacity[] | undefined);
    } else if (kind === "write" && refusedByCondition(output)) {
      units.write += 1;
    }
    const tables = tableNames(input);
    const operation = `${command} ${partitionPrefix(input) ?? "-"}`;
    // A batch over several tables is attributed to the first; the bench's batches name one.
    count(tables[0] ?? "-", operation, command, units);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    take(tableName) {
      const figures = byTable.get(tableName) ?? empty();
      byTable.delete(tableName);
      figures.readUnits = round(figures.readUnits);
      figures.writeUnits = round(figures.writeUnits);
      return figures;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

function empty(): DynamoFigures {
  return { byOperation: {}, byCommand: {}, requests: 0, readUnits: 0, writeUnits: 0 };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `TOTAL` may give only `CapacityUnits`, which then count for the command's own kind. */
function addCapacity(
  units: { read: number; write: number },
  kind: "read" | "write",
  consumed: Capacity | Capacity[] | undefined,
): void {
  const entries = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
  for (const entry of entries) {
    if (entry.ReadCapacityUnits !== undefined || entry.WriteCapacityUnits !== undefined) {
      units.read += entry.ReadCapacityUnits ?? 0;
      units.write += entry.WriteCapacityUnits ?? 0;
    } else {
      units[kind] += entry.CapacityUnits ?? 0;
    }
  }
}

function refusedByCondition(output: Body): boolean {
  const type = String(output.__type ?? "");
  if (type.endsWith("ConditionalCheckFailedException")) return true;
  if (!type.endsWith("TransactionCanceledException")) return false;
  const reasons = (output.CancellationReasons ?? []) as Array<{ Code?: string }>;
  return reasons.some((reason) => reason.Code === "ConditionalCheckFailed");
}

function tableNames(input: Body): string[] {
  if (typeof input.TableName === "string") return [input.TableName];
  if (input.RequestItems && typeof input.RequestItems === "object") return Object.keys(input.RequestItems);
  const items = (input.TransactItems ?? []) as Array<Record<string, { TableName?: string }>>;
  return items.flatMap((item) => Object.values(item).flatMap((action) => (action.TableName ? [action.TableName] : [])));
}

type Key = { pk?: { S?: string } };

/** `CONV` for `CONV#…`: the kind of item a request touches, from the partition key of its first item. */
function partitionPrefix(input: Body): string | undefined {
  const direct = (input.Key ?? input.Item) as Key | undefined;
  const values = input.ExpressionAttributeValues as Record<string, { S?: string }> | undefined;
  const requests = Object.values((input.RequestItems ?? {}) as Record<string, unknown>)[0];
  let partition: string | undefined = direct?.pk?.S ?? values?.[":pk"]?.S;
  if (partition === undefined && requests && !Array.isArray(requests)) {
    partition = (requests as { Keys?: Key[] }).Keys?.[0]?.pk?.S;
  } else if (partition === undefined && Array.isArray(requests)) {
    const first = requests[0] as { PutRequest?: { Item?: Key }; DeleteRequest?: { Key?: Key } } | undefined;
    partition = (first?.PutRequest?.Item ?? first?.DeleteRequest?.Key)?.pk?.S;
  }
  if (partition === undefined) {
    const action = Object.values(
      ((input.TransactItems ?? []) as Array<Record<string, Key & { Item?: Key; Key?: Key }>>)[0] ?? {},
    )[0];
    partition = (action?.Item ?? action?.Key)?.pk?.S;
  }
  return partition?.split("#")[0];
}
