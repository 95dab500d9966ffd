/**
 * The environment of everything the bench runs as the notifier: the poller worker reads its
 * config from it with the CLI's own loadLocalConfig, and the CLI child process gets it as its
 * environment. One place, so the two run with the same settings against the same services.
 */

export interface BenchServices {
  region: string;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  simulator: { url: string; apiKey: string; apiSecret: string };
  slack: { apiUrl: string; token: string };
}

export interface ClientSettings {
  /** RESPONDENT_PAGE_SIZE (the stack sets 100). */
  pageSize: number;
  /** RESPONDENT_MAX_CONCURRENCY (the stack sets 4). */
  concurrency: number;
}

export function benchEnvironment(
  services: BenchServices,
  tableName: string,
  client: ClientSettings,
): Record<string, string> {
  return {
    AWS_REGION: services.region,
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: services.dynamoEndpoint,
    SQS_ENDPOINT: services.sqsEndpoint,
    RESPONDENT_API_URL: services.simulator.url,
    RESPONDENT_API_KEY: services.simulator.apiKey,
    RESPONDENT_API_SECRET: services.simulator.apiSecret,
    RESPONDENT_PAGE_SIZE: String(client.pageSize),
    RESPONDENT_MAX_CONCURRENCY: String(client.concurrency),
    SLACK_BOT_TOKEN: services.slack.token,
    SLACK_API_URL: services.slack.apiUrl,
  };
}
