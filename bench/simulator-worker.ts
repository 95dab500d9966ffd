import { type RespondentSimulator, startRespondentSimulator } from "../src/local/simulator.ts";
import { type SimulatorReady, type SimulatorRequest, type SimulatorStats, serveRequests, toMb } from "./protocol.ts";

/**
 * The Respondent simulator in a process of its own: it holds every conversation, which must
 * not count towards the poller's memory.
 */

let simulator: RespondentSimulator | undefined;
let cpuAtClear = process.cpuUsage();

function running(): RespondentSimulator {
  if (!simulator) throw new Error("the simulator is not started");
  return simulator;
}

/** Counts each project's conversations and reads the applied page size, through the API itself. */
async function probe(
  started: RespondentSimulator,
  requestedPageSize: number,
): Promise<Pick<SimulatorReady, "conversationsByProject" | "appliedPageSize">> {
  const conversationsByProject: Record<string, number> = {};
  let appliedPageSize = requestedPageSize;
  for (const projectId of started.projectIds) {
    const url = new URL(`${started.url}/v1/messaging/conversations`);
    url.searchParams.set("page", "1");
    url.searchParams.set("pageSize", String(requestedPageSize));
    url.searchParams.set("includeCount", "true");
    url.searchParams.set("projectId", projectId);
    const response = await fetch(url, { headers: { "x-api-key": started.apiKey, "x-api-secret": started.apiSecret } });
    const body = (await response.json()) as { totalResults?: number; pageSize?: number };
    if (!response.ok || typeof body.totalResults !== "number" || typeof body.pageSize !== "number") {
      throw new Error(`probe of project ${projectId} failed: HTTP ${response.status}`);
    }
    conversationsByProject[projectId] = body.totalResults;
    appliedPageSize = body.pageSize;
  }
  started.clearRequests();
  return { conversationsByProject, appliedPageSize };
}

function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return Math.round((used.user + used.system) / 1000);
}

function stats(started: RespondentSimulator): SimulatorStats {
  const seen = new Set<string>();
  let repeatedPages = 0;
  let notOk = 0;
  for (const request of started.requests) {
    const key = `${request.projectId ?? "*"}#${request.externalResearcherId ?? "*"}#${request.page}#${request.pageSize}`;
    if (seen.has(key)) repeatedPages += 1;
    seen.add(key);
    if (request.status !== 200) notOk += 1;
  }
  return {
    requests: started.requests.length,
    repeatedPages,
    notOk,
    maxConcurrentRequests: started.maxConcurrentRequests,
    cpuMs: cpuMsSince(cpuAtClear),
  };
}

serveRequests<SimulatorRequest>(async (request) => {
  switch (request.type) {
    case "init": {
      const { init } = request;
      const started = await startRespondentSimulator({
        conversations: init.conversations,
        projects: init.projects,
        latencyMs: init.latencyMs,
        pageSizeCap: init.pageSizeCap,
      });
      simulator = started;
      const probed = await probe(started, init.requestedPageSize);
      return {
        url: started.url,
        apiKey: started.apiKey,
        apiSecret: started.apiSecret,
        projectIds: [...started.projectIds],
        ...probed,
        rssMb: toMb(process.memoryUsage().rss),
      } satisfies SimulatorReady;
    }
    case "stats":
      return stats(running());
    case "clear":
      running().clearRequests();
      cpuAtClear = process.cpuUsage();
      return null;
    case "replies":
      return running().simulateReplies(request.count);
  }
});

process.on("disconnect", () => {
  void (simulator?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
