import { describeError } from "../errors.ts";
import type { CachedProject, Clock, Log, ProjectNameStore, ProjectSource } from "../ports.ts";

/**
 * Project names for people: an alert says "Onboarding interviews", not 684f5e80a087ea0000000003.
 * The names come from `GET /v1/projects/{projectId}` and are cached in the table, one row per
 * project, refreshed at most once a day. Looking a name up never holds up an alert: one short
 * attempt (src/adapters/respondent-projects.ts), and when it fails or is slow the alert shows
 * the id and the next alert asks again.
 *
 * The poller looks names up when it first sees a project in a page of new replies (it holds the
 * Respondent credentials, and the lookup lands in the cache before those events are queued). The
 * notifier only reads the cache, so it needs no Respondent credentials and its alert path never
 * waits for Respondent. The CLI (`subscriptions list`, `doctor`, `poll --dry-run`) reads the cache
 * and asks the API for what is missing, without writing.
 */

/** A name is asked for again after this long (a project renamed shows its new name within a day). */
export const PROJECT_NAME_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** After a failed lookup, the next one waits at least this long (the next poll, not the next page). */
export const PROJECT_LOOKUP_RETRY_MS = 10_000;
/** What the notifier read from the cache is used for this long before it reads again. */
export const CACHED_NAME_REUSE_MS = 5 * 60 * 1000;

/** What an alert or a listing shows for a project. */
export interface ProjectLabel {
  id: string;
  /** `publicInternalName`, or `publicTitle` when there is no internal name. */
  name: string | undefined;
  /** `publicTitle`, when it differs from the name. */
  title: string | undefined;
}

export function labelOf(id: string, cached: CachedProject | undefined): ProjectLabel {
  if (!cached?.found) return { id, name: undefined, title: undefined };
  const name = cached.internalName ?? cached.title;
  const title = cached.title && cached.title !== name ? cached.title : undefined;
  return { id, name, title };
}

/** `Onboarding interviews (684f5e80a087ea0000000003)`, or the id alone when the name is not known. */
export function describeProject(label: ProjectLabel | undefined, id: string): string {
  if (id === "*") return "* (every project)";
  return label?.name ? `${label.name} (${id})` : id;
}

export interface ProjectNamesPorts {
  store: ProjectNameStore;
  /** Absent where no Respondent credentials are configured: only the cache is read. */
  source: ProjectSource | undefined;
  clock: Clock;
  log: Log;
  /** false: nothing is written (a dry run, an operator's listing). Default true. */
  writes?: boolean;
}

export class ProjectNames {
  /** What this process knows: cache rows read or written, by project id. */
  private readonly known = new Map<string, { project: CachedProject; readAt: number }>();
  private readonly failedAt = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly ports: ProjectNamesPorts) {}

  /** The label this process last resolved for the project (no I/O). */
  labelFor(projectId: string): ProjectLabel {
    return labelOf(projectId, this.known.get(projectId)?.project);
  }

  /**
   * The poller's step before it queues a page's events: every project among them has a fresh
   * name in the cache, as far as one short lookup each can make it so. Never throws.
   */
  async ensure(projectIds: readonly string[]): Promise<void> {
    const now = this.ports.clock.now().getTime();
    const wanted = [...new Set(projectIds)].filter((id) => id && !this.isFresh(id, now));
    if (wanted.length === 0) return;
    await this.readCache(wanted, now);
    const stale = wanted.filter((id) => !this.isFresh(id, now) && !this.recentlyFailed(id, now));
    // One at a time: a name lookup adds at most one request to what the poll has in flight.
    for (const id of stale) await this.lookUp(id);
  }

  /**
   * Labels for a listing or a dry run: the cache, then (with credentials) the API for what is
   * missing or older than a day. Never throws: what cannot be found shows its id.
   */
  async labels(projectIds: readonly string[]): Promise<Map<string, ProjectLabel>> {
    const ids = [...new Set(projectIds)].filter((id) => id && id !== "*");
    await this.ensure(ids);
    return new Map(ids.map((id) => [id, this.labelFor(id)]));
  }

  /**
   * The notifier's read: the cached label, from this process's memory for a few minutes and
   * otherwise from the table. A project without a name is read again each time, so the alert
   * after a successful lookup has it. Never throws.
   */
  async cachedLabel(projectId: string): Promise<ProjectLabel> {
    const now = this.ports.clock.now().getTime();
    const memory = this.known.get(projectId);
    if (memory?.project.found && now - memory.readAt < CACHED_NAME_REUSE_MS) return this.labelFor(projectId);
    await this.readCache([projectId], now);
    return this.labelFor(projectId);
  }

  private isFresh(projectId: string, now: number): boolean {
    const memory = this.known.get(projectId);
    return memory !== undefined && now - memory.project.fetchedAt.getTime() < PROJECT_NAME_MAX_AGE_MS;
  }

  private recentlyFailed(projectId: string, now: number): boolean {
    const failed = this.failedAt.get(projectId);
    return failed !== undefined && now - failed < PROJECT_LOOKUP_RETRY_MS;
  }

  private async readCache(projectIds: readonly string[], now: number): Promise<void> {
    try {
      const rows = await this.ports.store.get(projectIds);
      for (const [id, project] of rows) {
        const memory = this.known.get(id);
        // Never replace a newer answer of our own with an older row.
        if (!memory || memory.project.fetchedAt <= project.fetchedAt) this.known.set(id, { project, readAt: now });
      }
    } catch (error) {
      this.ports.log.debug("could not read the project name cache; ids are shown instead", {
        reason: describeError(error),
      });
    }
  }

  /** One lookup per project at a time in this process. */
  private lookUp(projectId: string): Promise<void> {
    const running = this.inFlight.get(projectId);
    if (running) return running;
    const lookup = this.fetchAndCache(projectId).finally(() => this.inFlight.delete(projectId));
    this.inFlight.set(projectId, lookup);
    return lookup;
  }

  private async fetchAndCache(projectId: string): Promise<void> {
    const { source, clock, log } = this.ports;
    if (!source) return;
    let project: CachedProject;
    try {
      const found = await source.getProject(projectId);
      project = {
        id: projectId,
        found: found !== undefined,
        internalName: found?.internalName,
        title: found?.title,
        fetchedAt: clock.now(),
      };
    } catch (error) {
      this.failedAt.set(projectId, clock.now().getTime());
      log.warn("could not look up a project's name; its alerts show the id until a lookup succeeds", {
        projectId,
        reason: describeError(error),
      });
      return;
    }
    this.failedAt.delete(projectId);
    if (!project.found)
      log.info("the Respondent API does not know this project; its alerts show the id", { projectId });
    this.known.set(projectId, { project, readAt: clock.now().getTime() });
    if (this.ports.writes === false) return;
    try {
      await this.ports.store.put(project);
    } catch (error) {
      log.warn("could not cache a project's name", { projectId, reason: describeError(error) });
    }
  }
}
