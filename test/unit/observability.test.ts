import { Metrics } from "@aws-lambda-powertools/metrics";
import { describe, expect, it } from "vitest";
import { CLOUDWATCH_METRICS, powertoolsMetrics } from "../../src/adapters/observability.ts";

describe("the Lambdas' metrics", () => {
  it("publish only the alarmed counts as CloudWatch metrics and hand the others to the counts log line", () => {
    const powertools = new Metrics({ namespace: "ObservabilityTest", serviceName: "poller" });
    const metrics = powertoolsMetrics(powertools);

    metrics.count("Polls");
    metrics.count("PagesFetched", 3);
    metrics.count("ConversationsScanned", 250);
    metrics.count("PagesFetched");
    metrics.count("PermanentFailures");

    const emf = powertools.serializeMetrics();
    const published = emf._aws.CloudWatchMetrics.flatMap((directive) => directive.Metrics.map((metric) => metric.Name));
    expect(published.sort()).toEqual(["PermanentFailures"]);
    expect(published.every((name) => (CLOUDWATCH_METRICS as readonly string[]).includes(name))).toBe(true);
    expect(metrics.takeLogged()).toEqual({ Polls: 1, PagesFetched: 4, ConversationsScanned: 250 });
    // Taken once: the next invocation starts from nothing.
    expect(metrics.takeLogged()).toEqual({});
  });
});
