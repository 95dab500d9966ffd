import { describe, expect, it } from "vitest";
import { describeWouldAlert } from "../../src/cli/output.ts";
import { formatSubscription } from "../../src/cli/subscriptions.ts";
import { checkProjectNames } from "../../src/usecases/doctor.ts";
import { labelOf, type ProjectLabel } from "../../src/usecases/project-names.ts";
import { replyEvent, subscription } from "../support/builders.ts";

const named: ProjectLabel = { id: "project-a", name: "Onboarding interviews", title: undefined };

describe("project names beside their ids in the terminal", () => {
  it("labels a cached project by its internal name, else its title, and a 404 by nothing", () => {
    const fetchedAt = new Date("2026-12-01T00:00:00Z");
    expect(labelOf("p", { id: "p", found: true, internalName: "Team name", title: "Public title", fetchedAt })).toEqual(
      {
        id: "p",
        name: "Team name",
        title: "Public title",
      },
    );
    expect(labelOf("p", { id: "p", found: true, internalName: undefined, title: "Public title", fetchedAt }).name).toBe(
      "Public title",
    );
    expect(labelOf("p", { id: "p", found: false, internalName: undefined, title: undefined, fetchedAt }).name).toBe(
      undefined,
    );
  });

  it("subscriptions list: the name after the options, the id first", () => {
    const line = formatSubscription(
      subscription({ quietHours: "19:00-08:00", timezone: "Europe/Berlin", digest: "30m" }),
      named,
    );
    expect(line).toMatch(/^project-a\s+->\s+C0000000001\s/);
    expect(line).toContain("quiet-hours=19:00-08:00  timezone=Europe/Berlin  digest=30m");
    expect(line.endsWith('"Onboarding interviews"')).toBe(true);
    expect(formatSubscription(subscription())).not.toContain('"');
  });

  it("dry run: the project by name with its id", () => {
    const [line] = describeWouldAlert(replyEvent("conv-1", "m1", ["C0000000001"]), (id) =>
      id === "project-a" ? named : undefined,
    );
    expect(line).toContain("(project Onboarding interviews (project-a))");
    expect(describeWouldAlert(replyEvent("conv-1", "m1", ["C0000000001"]))[0]).toContain("(project project-a)");
  });

  it("doctor: the subscribed projects by name, noting those without one yet", () => {
    const subscriptions = [subscription(), subscription({ projectId: "project-b" }), subscription({ projectId: "*" })];
    expect(checkProjectNames(subscriptions, new Map([["project-a", named]]))).toEqual({
      status: "note",
      detail:
        "Onboarding interviews (project-a), project-b, * (every project) (1 without a name yet: alerts show the id until the poller has looked it up)",
    });
    expect(checkProjectNames([subscription()], new Map([["project-a", named]]))).toEqual({
      status: "pass",
      detail: "Onboarding interviews (project-a)",
    });
  });
});
