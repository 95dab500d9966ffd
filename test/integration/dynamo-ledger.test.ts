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
    expect((await ledger.claim(newEventId(), CHANNEL, T0, LEASE_SECONDS)).status).toBe("claimed");
  });

  it("answers in_progress to a second claim while the first one's lease runs", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    expect((await ledger.claim(eventId, CHANNEL, later(LEASE_SECONDS - 1), LEASE_SECONDS)).status).toBe("in_progress");
  });

  it("claims the same event for another channel independently", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    expect((await ledger.claim(eventId, "C0000000002", T0, LEASE_SECONDS)).status).toBe("claimed");
  });

  it("answers posted once marked posted, even long after the lease, and keeps the record without expiry", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    await ledger.markPosted(eventId, CHANNEL, "1740823200.000100", later(5));

    expect((await ledger.claim(eventId, CHANNEL, later(30 * 24 * 3600), LEASE_SECONDS)).status).toBe("posted");
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

    expect((await ledger.claim(eventId, CHANNEL, later(LEASE_SECONDS + 1), LEASE_SECONDS)).status).toBe("reclaimed");
    expect((await ledger.claim(eventId, CHANNEL, later(LEASE_SECONDS + 2), LEASE_SECONDS)).status).toBe("in_progress");
  });

  it("says until when another caller's claim holds, and since when a reclaimed alert may be in the channel", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    expect(await ledger.claim(eventId, CHANNEL, later(10), LEASE_SECONDS)).toEqual({
      status: "in_progress",
      leaseUntil: later(LEASE_SECONDS),
    });
    const first = await ledger.claim(eventId, CHANNEL, later(LEASE_SECONDS + 1), LEASE_SECONDS);
    expect(first).toMatchObject({ status: "reclaimed", firstClaimedAt: T0 });
    // A second takeover still knows when the first attempt started.
    const second = await ledger.claim(eventId, CHANNEL, later(2 * LEASE_SECONDS + 5), LEASE_SECONDS);
    expect(second).toMatchObject({ status: "reclaimed", firstClaimedAt: T0 });
  });

  it("after expireLease, lets the next caller take the claim over at once, as reclaimed", async () => {
    const eventId = newEventId();
    const claimed = await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);
    if (claimed.status !== "claimed") throw new Error(`expected a claim, got ${claimed.status}`);

    await ledger.expireLease(eventId, CHANNEL, claimed.claim, later(2));

    expect(await ledger.claim(eventId, CHANNEL, later(3), LEASE_SECONDS)).toMatchObject({
      status: "reclaimed",
      firstClaimedAt: T0,
    });
  });

  it("never cuts short the lease of a caller that took the claim over", async () => {
    const eventId = newEventId();
    const slow = await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);
    if (slow.status !== "claimed") throw new Error(`expected a claim, got ${slow.status}`);
    await ledger.claim(eventId, CHANNEL, later(LEASE_SECONDS + 1), LEASE_SECONDS);

    // The first caller, long after its lease, ends "its" lease: the one that took over keeps its own.
    await ledger.expireLease(eventId, CHANNEL, slow.claim, later(LEASE_SECONDS + 2));

    expect((await ledger.claim(eventId, CHANNEL, later(LEASE_SECONDS + 3), LEASE_SECONDS)).status).toBe("in_progress");
  });

  it("lets exactly one of several concurrent takeovers of an expired claim reclaim it", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () => ledger.claim(eventId, CHANNEL, later(LEASE_SECONDS + 10), LEASE_SECONDS)),
    );

    expect(outcomes.filter((outcome) => outcome.status === "reclaimed")).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.status === "in_progress")).toHaveLength(5);
  });

  it("gives exactly one of several concurrent first claims the delivery", async () => {
    const eventId = newEventId();

    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS)),
    );

    expect(outcomes.filter((outcome) => outcome.status === "claimed")).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.status === "in_progress")).toHaveLength(7);
  });

  it("makes a released claim available to the next caller at once", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);

    await ledger.release(eventId, CHANNEL);

    expect((await ledger.claim(eventId, CHANNEL, later(1), LEASE_SECONDS)).status).toBe("claimed");
  });

  it("never releases a delivery that was posted", async () => {
    const eventId = newEventId();
    await ledger.claim(eventId, CHANNEL, T0, LEASE_SECONDS);
    await ledger.markPosted(eventId, CHANNEL, "1740823200.000200", later(1));

    await ledger.release(eventId, CHANNEL);

    expect((await ledger.claim(eventId, CHANNEL, later(2), LEASE_SECONDS)).status).toBe("posted");
  });

  it("ignores the release of a claim that does not exist", async () => {
    await expect(ledger.release(newEventId(), CHANNEL)).resolves.toBeUndefined();
  });
});
