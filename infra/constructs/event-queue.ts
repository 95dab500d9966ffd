import { Duration } from "aws-cdk-lib";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { MAX_DELIVERY_ATTEMPTS } from "../../src/usecases/deliver.ts";

/** A message that failed this many deliveries goes to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = MAX_DELIVERY_ATTEMPTS;

/** AWS guidance for a queue feeding a Lambda function: six times the function timeout. */
export const VISIBILITY_TIMEOUT_PER_CONSUMER_TIMEOUT = 6;

export interface EventQueueProps {
  /** Timeout of the consuming function; the visibility timeout is derived from it. */
  consumerTimeout: Duration;
}

/**
 * The FIFO queue from poller to notifier, and its dead-letter queue.
 * One message group per conversation keeps each conversation's alerts in order; the poller
 * sets MessageDeduplicationId to the event id, so content-based deduplication is off.
 * SQS-managed encryption: the messages hold participant reply text, which must be encrypted
 * at rest, but a customer managed key would add cost and key-policy wiring without changing
 * who can read the queue (that is decided by IAM on the queue).
 */
export class EventQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: EventQueueProps) {
    super(scope, id);

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      fifo: true,
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    this.queue = new Queue(this, "Queue", {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_PER_CONSUMER_TIMEOUT),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
  }

  /** SendMessage to the dead-letter queue only: the notifier moves an undeliverable message there itself. */
  grantDeadLetter(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ["sqs:SendMessage"],
      resourceArns: [this.deadLetterQueue.queueArn],
    });
  }

  /** SendMessage only (it also authorises SendMessageBatch): no reading, no queue attributes. */
  grantSend(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ["sqs:SendMessage"],
      resourceArns: [this.queue.queueArn],
    });
  }
}
