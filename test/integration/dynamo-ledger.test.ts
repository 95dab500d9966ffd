import { type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDeliveryLedger } from "../../src/adapters/dynamo/ledger.ts";
import { deliveryKey, TTL_ATTRIBUTE } from "../../src/adapters/dynamo/table.ts";
import { createTestTable } from "../support/dynamodb.ts";

let client: DynamoDBClient;
let tableName: string;
let ledger: DynamoDeliveryLedger;
beforeAll(async () => {
  ({ client, tableName } = await createTestTable("ledger"));
  ledger = new DynamoDeliveryLedger(client, tableName);
});
afterAll(() => client.destroy());

const CHANNEL = "C0000000001";
const T0 = new Date("2026-03-01T10:00:00.000Z");
const LEASE_SECONDS = 60;
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
let eventCounter = 0;
const newEventId = () => `event-${++eventCounter}-${Date.now()}`;

describe("DynamoDeliveryLedger", () => {
  it("gives the first claim of an (event, channel) to its caller", async () => {
    expect(await ledger.claim(newEventId(), CHANNEL, T0, LEASE_SECONDS)).toBe("claimed");
  });

  it("answers in_progress to a second claim while the first one's lease runs", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    expect(await ledger.claim(eventId, CHANNEL, later(LEASE_SECONDS - 1), LEASE_SECONDS)).toBe("in_progress");
  });

  it("claims the same event for another channel independently", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    expect(await ledger.claim(eventId, "C0000000002", T0, LEASE_SECONDS)).toBe("claimed");
  });

  it("answers posted once marked posted, even long after the lease, and keeps the record without expiry", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    await ledger.markPosted(eventId, CHANNEL, "1740823200.000100", later(5));

    expect(await ledger.claim(eventId, CHANNEL, later(30 * 24 * 3600), LEASE_SECONDS)).toBe("posted");
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: deliveryKey(eventId, CHANNEL), ConsistentRead: true }),
    );
    expect(Item?.status?.S).toBe("posted");
    expect(Item?.messageTs?.S).toBe("1740823200.000100");
    expect(Item?.postedAt?.S).toBe(later(5).toISOString());
    expect(Item?.[TTL_ATTRIBUTE]).toBeUndefined();
  });

  it("hands an expired claim over as reclaimed, and the new lease then holds off others", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    expect(await ledger.claim(eventId, CHANNEL, later(LEASE_SECONDS + 1), LEASE_SECONDS)).toBe("reclaimed");
    expect(await ledger.claim(eventId, CHANNEL, later(LEASE_SECONDS + 2), LEASE_SECONDS)).toBe("in_progress");
  });

  it("lets exactly one of several concurrent takeovers of an expired claim reclaim it", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () => ledger.claim(eventId, CHANNEL, later(LEASE_SECONDS + 10), LEASE_SECONDS)),
    );

    expect(outcomes.filter((outcome) => outcome === "reclaimed")).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === "in_progress")).toHaveLength(5);
  });

  it("gives exactly one of several concurrent first claims the delivery", async () => {
    const eventId = newEventId();

    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS)),
    );

    expect(outcomes.filter((outcome) => outcome === "claimed")).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === "in_progress")).toHaveLength(7);
  });

  it("makes a released claim available to the next caller at once", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    await ledger.release(eventId, CHANNEL);

    expect(await ledger.claim(eventId, CHANNEL, later(1), LEASE_SECONDS)).toBe("claimed");
  });

  it("never releases a delivery that was posted", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);
    await ledger.markPosted(eventId, CHANNEL, "1740823200.000200", later(1));

    await ledger.release(eventId, CHANNEL);

    expect(await ledger.claim(eventId, CHANNEL, later(2), LEASE_SECONDS)).toBe("posted");
  });

  it("ignores the release of a claim that does not exist", async () => {
    await expect(ledger.release(newEventId(), CHANNEL)).resolves.toBeUndefined();
  });
});
