/**
 * What a synthesized CloudFormation template bills for every month whatever the traffic, counted
 * from the template itself, so that a stack that gains an alarm, a metric, a secret or a function
 * shows it in the cost model (bench/cost.ts) without anyone updating a constant.
 */

type Json = Record<string, unknown>;
interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Json }>;
}

export interface TemplateUsage {
  /** Standard-resolution alarms, each with the number of metrics it evaluates (billed per metric). */
  alarms: { id: string; metrics: number }[];
  /** Custom metrics the alarms read in the stack's own namespace: `service/MetricName`. */
  customMetrics: string[];
  /** Secrets the stack creates. */
  secrets: number;
  functions: number;
  /**
   * SQS event source mappings: each keeps long polls open on its queue, idle or not, billed at
   * its queue's price (FIFO or standard), so each says which kind of queue it reads.
   */
  sqsEventSources: SqsEventSource[];
  logGroups: number;
}

export interface SqsEventSource {
  /** The mapping's logical id. */
  mapping: string;
  /** The logical id of the queue it reads. */
  queue: string;
  fifo: boolean;
}

export function templateUsage(template: TemplateJson, namespace: string): TemplateUsage {
  const resources = Object.entries(template.Resources);
  const ofType = (type: string) => resources.filter(([, resource]) => resource.Type === type);
  const customMetrics = new Set<string>();
  const alarms = ofType("AWS::CloudWatch::Alarm").map(([id, resource]) => {
    const properties = resource.Properties ?? {};
    const stats: Json[] = Array.isArray(properties.Metrics)
      ? (properties.Metrics as Json[]).flatMap((query) => {
          const stat = (query.MetricStat as Json | undefined)?.Metric as Json | undefined;
          return stat ? [stat] : [];
        })
      : [properties];
    for (const metric of stats) {
      if (metric.Namespace !== namespace) continue;
      const dimensions = (metric.Dimensions as { Name: string; Value: unknown }[] | undefined) ?? [];
      const service = dimensions.find((dimension) => dimension.Name === "service")?.Value;
      customMetrics.add(`${String(service ?? "-")}/${String(metric.MetricName)}`);
    }
    return { id, metrics: stats.length };
  });
  return {
    alarms,
    customMetrics: [...customMetrics].sort(),
    secrets: ofType("AWS::SecretsManager::Secret").length,
    functions: ofType("AWS::Lambda::Function").length,
    sqsEventSources: ofType("AWS::Lambda::EventSourceMapping").flatMap(([mapping, resource]) => {
      const queue = queueOf(template, resource.Properties?.EventSourceArn);
      return queue ? [{ mapping, queue: queue.id, fifo: queue.fifo }] : [];
    }),
    logGroups: ofType("AWS::Logs::LogGroup").length,
  };
}

/**
 * The queue resource an EventSourceArn refers to (`Fn::GetAtt: [id, "Arn"]`), or undefined when
 * it is not one of the template's queues (a stream, a table). A queue of another stack cannot be
 * priced from this template, so it is refused rather than guessed.
 */
function queueOf(template: TemplateJson, arn: unknown): { id: string; fifo: boolean } | undefined {
  const getAtt = (arn as { "Fn::GetAtt"?: unknown } | undefined)?.["Fn::GetAtt"];
  const id = Array.isArray(getAtt) && typeof getAtt[0] === "string" ? getAtt[0] : undefined;
  const resource = id === undefined ? undefined : template.Resources[id];
  if (id !== undefined && resource?.Type === "AWS::SQS::Queue") {
    return { id, fifo: resource.Properties?.FifoQueue === true };
  }
  if (JSON.stringify(arn ?? "").includes(":sqs:")) {
    throw new Error(
      `an event source reads a queue outside this template (${JSON.stringify(arn)}): its price is unknown`,
    );
  }
  return undefined;
}
