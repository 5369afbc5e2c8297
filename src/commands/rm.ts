// `mydocker rm [-f] NAME...`: removes state, logs, cgroup and mounts of stopped containers.
import { readFileSync } from "node:fs";
import { defineCommand } from "citty";
import { UsageError } from "../cli/argv";
import { openCgroup } from "../cgroups";
import { cleanupHost, removeContainer } from "../engine/supervise";
import { readState, removeContainerRecord, withContainerLock } from "../state/store";
import { findLive, waitFor } from "../state/live";
import type { ContainerState } from "../state/store";
import { parseCommand } from "./args";
import { stopContainer } from "./stop";

const args = { force: { type: "boolean", alias: "f", description: "Kill a running container first" } } as const;

async function remove(s: ContainerState, force: boolean): Promise<void> {
  if (s.status === "dead") return removeDead(s, force);
  if (s.status === "created") {
    // still starting: let it start (or fail), then treat it as any other
    if (!force) throw new UsageError(`cannot remove container ${s.name}: it is starting (use rm -f)`);
    await waitFor(s.id, (now) => !now || now.status !== "created", 10_000);
    const now = readState(s.id);
    if (!now) return;
    s = now;
  }
  if (s.status === "running" || s.status === "paused") {
    if (!force) throw new UsageError(`cannot remove container ${s.name}: it is running (stop it first, or use rm -f)`);
    await stopContainer(s, 0);
  }
  withContainerLock(s.id, () => {
    // whoever ran it, make sure no cgroup or mount is left
    const problem = cleanupHost(s);
    if (problem) throw new UsageError(`cannot remove container ${s.name}: ${problem}`);
    removeContainer(s);
  });
}

/**
 * A container whose record is broken: its processes cannot be trusted from the record, so what
 * belongs to its id is torn down — the cgroup (`<own cgroup>/mydocker/<id>`, or under the parent
 * the record still names; destroying it kills what runs there) and its writable layer — then the
 * record goes.
 */
function removeDead(s: ContainerState, force: boolean): void {
  const label = s.name || s.id.slice(0, 12);
  withContainerLock(s.id, () => {
    const problems: string[] = [];
    try {
      const cgroup = openCgroup({ id: s.id, parent: s.cgroup.parent, selfCgroup: s.cgroup.selfCgroup || readFileSync("/proc/self/cgroup", "utf8") });
      if (!force && runningIn(cgroup)) throw new UsageError(`cannot remove container ${label}: its record is broken (${s.error}) and processes still run in its cgroup (use rm -f)`);
      cgroup.destroy();
    } catch (e) {
      if (e instanceof UsageError) throw e;
      problems.push((e as Error).message);
    }
    try {
      const overlay = require("../image/overlay") as typeof import("../image/overlay");
      overlay.removeContainerLayer(s.id); // nothing to do for a plain rootfs
    } catch (e) {
      problems.push((e as Error).message);
    }
    if (problems.length) throw new UsageError(`cannot remove container ${label}: teardown: ${problems.join("; ")}`);
    removeContainerRecord(s.id);
  });
}

function runningIn(cgroup: { pids(): number[] }): boolean {
  try {
    return cgroup.pids().length > 0;
  } catch {
    return false; // no such cgroup
  }
}

export default defineCommand({
  meta: { name: "rm", description: "Remove containers" },
  args: { ...args, container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("rm", rawArgs, args, 1, "CONTAINER...");
    for (const ref of positionals) {
      await remove(findLive(ref), options.force === true);
      console.log(ref);
    }
  },
});
