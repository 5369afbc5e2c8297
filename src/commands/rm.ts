// `mydocker rm [-f] NAME...`: removes state, logs, cgroup and mounts of stopped containers.
import { defineCommand } from "citty";
import { UsageError } from "../cli/argv";
import { removeDead, removeStopped } from "../containers/lifecycle";
import { readState } from "../state/store";
import { findLive, waitFor } from "../state/live";
import type { ContainerState } from "../state/store";
import { parseCommand } from "./args";
import { cancelRestarts, isRestarting, stopContainer } from "./stop";

const args = { force: { type: "boolean", alias: "f", description: "Kill a running container first" } } as const;

async function remove(s: ContainerState, force: boolean): Promise<void> {
  if (s.status === "dead") return removeDead(s, force);
  if (isRestarting(s)) {
    // its monitor would start it again on a layer we removed: end the policy first (docker's rule)
    if (!force) throw new UsageError(`you cannot remove a restarting container ${s.id}: stop the container before attempting removal or force remove`);
    const now = await cancelRestarts(s);
    if (!now) return;
    s = now;
  }
  if (s.status === "created" && s.monitorPid !== undefined) {
    // still starting (one from `create`, that nobody started, is removed as a stopped one): let it start (or fail), then treat it as any other
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
  removeStopped(s);
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
