import * as z from "zod";
import type { RespondentClientSettings } from "../config.ts";
import {
  RespondentAuthError,
  RespondentBadResponseError,
  RespondentRequestRejectedError,
  RespondentUnavailableError,
} from "../errors.ts";
import type { ProjectInfo, ProjectSource, RespondentCredentials } from "../ports.ts";

/**
 * A name lookup must never hold up an alert: one attempt, this long at most, and the alert goes
 * out with the project id if it fails (the next one asks again).
 */
export const DEFAULT_PROJECT_LOOKUP_TIMEOUT_MS = 2_000;

/** Only the two names are used; the rest of the (large) Project object is ignored. */
const projectSchema = z.looseObject({
  id: z.string().optional(),
  publicInternalName: z.string().optional(),
  publicTitle: z.string().optional(),
});

export interface RespondentProjectsOptions {
  settings: Pick<RespondentClientSettings, "baseUrl"> & { projectLookupTimeoutMs?: number | undefined };
  credentials: () => Promise<RespondentCredentials>;
}

/** `GET /v1/projects/{projectId}` of the Partner API, for the names an alert shows. */
export class RespondentProjects implements ProjectSource {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: RespondentProjectsOptions) {
    this.baseUrl = options.settings.baseUrl.replace(/\/+$/, "");
    this.timeoutMs = options.settings.projectLookupTimeoutMs ?? DEFAULT_PROJECT_LOOKUP_TIMEOUT_MS;
  }

  async getProject(projectId: string): Promise<ProjectInfo | undefined> {
    const { apiKey, apiSecret } = await this.options.credentials();
    const url = `${this.baseUrl}/v1/projects/${encodeURIComponent(projectId)}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        headers: { accept: "application/json", "x-api-key": apiKey, "x-api-secret": apiSecret },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      throw new RespondentUnavailableError(
        timedOut
          ? `project ${projectId}: the Respondent API did not answer within ${this.timeoutMs} ms`
          : `project ${projectId}: cannot reach the Respondent API`,
      );
    }
    const { status } = response;
    if (status === 404) return undefined;
    if (status === 401 || status === 403) throw new RespondentAuthError(status);
    if (status === 429 || status >= 500) {
      throw new RespondentUnavailableError(`project ${projectId}: the Respondent API answered ${status}`, status);
    }
    if (status < 200 || status >= 300) {
      throw new RespondentRequestRejectedError(status, `project ${projectId} could not be read`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RespondentBadResponseError(`project ${projectId}: the answer is not JSON`);
    }
    const parsed = projectSchema.safeParse(json);
    if (!parsed.success) throw new RespondentBadResponseError(`project ${projectId}: the answer is not a project`);
    return {
      id: projectId,
      internalName: parsed.data.publicInternalName?.trim() || undefined,
      title: parsed.data.publicTitle?.trim() || undefined,
    };
  }
}
