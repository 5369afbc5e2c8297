// `mydocker rm [-f] NAME...`: removes state, logs, cgroup and mounts of stopped containers.
import { defineCommand } from "citty";
import { UsageError } from "../cli/argv";
import { finishOrphan, removeContainer } from "../engine/supervise";
import { findLive } from "../state/live";
import type { ContainerState } from "../state/store";
import { parseCommand } from "./args";
import { stopContainer } from "./stop";

const args = { force: { type: "boolean", alias: "f", description: "Kill a running container first" } } as const;

async function remove(s: ContainerState, force: boolean): Promise<void> {
  if (s.status === "running" || s.status === "paused") {
    if (!force) throw new UsageError(`cannot remove container ${s.name}: it is running (stop it first, or use rm -f)`);
    await stopContainer(s, 0);
  }
  finishOrphan(s); // idempotent: makes sure no cgroup or mount is left, whoever ran the container
  removeContainer(s);
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
