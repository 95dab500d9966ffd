import { BatchGetItemCommand, type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { describeError, StateUnavailableError } from "../../errors.ts";
import type { CachedProject, ProjectNameStore } from "../../ports.ts";
import { type Item, projectKey, stringAttribute } from "./table.ts";

/** BatchGetItem's limit. */
const BATCH_KEYS = 100;
const MAX_BATCH_ROUNDS = 5;

/**
 * The project name cache: one row per project (`PROJECT#<id>` / `NAME`) with the names the API
 * gave (`publicInternalName`, `publicTitle`) and when, or that it did not know the project.
 * Rows are overwritten by each lookup; nothing else depends on them, so a lost write only means
 * the next alert asks again.
 */
export class DynamoProjectNameStore implements ProjectNameStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(projectIds: readonly string[]): Promise<Map<string, CachedProject>> {
    const found = new Map<string, CachedProject>();
    const ids = [...new Set(projectIds)];
    try {
      for (let start = 0; start < ids.length; start += BATCH_KEYS) {
        let keys: Item[] = ids.slice(start, start + BATCH_KEYS).map((id) => projectKey(id));
        for (let round = 0; keys.length > 0 && round < MAX_BATCH_ROUNDS; round += 1) {
          const result = await this.client.send(
            new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }),
          );
          for (const item of result.Responses?.[this.tableName] ?? []) {
            const project = parseRow(item);
            if (project) found.set(project.id, project);
          }
          keys = result.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        }
      }
    } catch (error) {
      throw new StateUnavailableError(`could not read the project name cache: ${describeError(error)}`, {
        cause: error,
      });
    }
    return found;
  }

  async put(project: CachedProject): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...projectKey(project.id),
            projectId: { S: project.id },
            found: { BOOL: project.found },
            ...(project.internalName ? { name: { S: project.internalName } } : {}),
            ...(project.title ? { title: { S: project.title } } : {}),
            fetchedAt: { S: project.fetchedAt.toISOString() },
          },
        }),
      );
    } catch (error) {
      throw new StateUnavailableError(`could not cache the name of project ${project.id}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
}

function parseRow(item: Item): CachedProject | undefined {
  const id = stringAttribute(item, "projectId");
  const fetchedAt = Date.parse(stringAttribute(item, "fetchedAt") ?? "");
  if (!id || Number.isNaN(fetchedAt)) return undefined;
  return {
    id,
    found: item.found?.BOOL !== false,
    internalName: stringAttribute(item, "name"),
    title: stringAttribute(item, "title"),
    fetchedAt: new Date(fetchedAt),
  };
}
