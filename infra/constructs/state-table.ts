import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import type { IGrantable } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
// The adapters' own key schema and TTL attribute, so the table and the code cannot drift apart.
import { TABLE_KEY, TTL_ATTRIBUTE } from "../../src/adapters/dynamo/table.ts";

/**
 * What the poller does with the table: conversation state, and reading subscriptions; with the
 * messages feed, UpdateItem adds the feed's marks to a conversation's item in place.
 */
export const POLLER_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:Query",
] as const;

/** What the notifier does with the table: the delivery ledger, threads and subscriptions. */
export const NOTIFIER_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  // The project-name cache is read for several projects at once.
  "dynamodb:BatchGetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
] as const;

/**
 * What the http function does with the table: reads the delivery ledger (is this our alert?),
 * claims and settles Reply submissions and read marks, and manages subscriptions (/respondent).
 */
export const SLACK_ENDPOINT_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  // A Respondent webhook's hint runs the poller's detection (project names are read in batches).
  "dynamodb:BatchGetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
] as const;

/** The single DynamoDB table holding state, subscriptions, threads and the delivery ledger. */
export class StateTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, "Table", {
      partitionKey: { name: TABLE_KEY.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEY.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      deletionProtection: true,
      // The ledger is what keeps alerts exactly-once: losing it re-posts history.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  grantPollerAccess(grantee: IGrantable): void {
    this.table.grant(grantee, ...POLLER_TABLE_ACTIONS);
  }

  grantNotifierAccess(grantee: IGrantable): void {
    this.table.grant(grantee, ...NOTIFIER_TABLE_ACTIONS);
  }

  grantSlackEndpointAccess(grantee: IGrantable): void {
    this.table.grant(grantee, ...SLACK_ENDPOINT_TABLE_ACTIONS);
  }
}
