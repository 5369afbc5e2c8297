// `mydocker restart [-t SECONDS] CONTAINER...`: stop (as `stop`, the same grace), then start
// detached with the same config, writable layer and log.
import { defineCommand } from "citty";
import { FlagError, UsageError } from "../cli/argv";
import { findLive } from "../state/live";
import { log } from "../log";
import { parseCommand } from "./args";
import { startDetached } from "./run";
import { prepareStart } from "./start";
import { stopContainer } from "./stop";
import { containerActor, emit } from "../events";

const args = {
  time: { type: "string", alias: "t", valueHint: "10", description: "Seconds to wait for the stop before SIGKILL (default: the container's --stop-timeout, else 10)" },
} as const;

export default defineCommand({
  meta: { name: "restart", description: "Restart one or more containers" },
  args: { ...args, container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("restart", rawArgs, args, 1, "CONTAINER...");
    const grace = options.time === undefined ? undefined : Number(options.time);
    if (grace !== undefined && !(Number.isInteger(grace) && grace >= -1)) throw new FlagError(`invalid --time "${options.time}": expected seconds`);
    if (process.getuid?.() !== 0) throw new UsageError("mydocker restart must be run as root");
    let failed = false;
    for (const ref of positionals) {
      try {
        await stopContainer(findLive(ref), grace === undefined ? undefined : grace === -1 ? Infinity : grace);
        const s = await prepareStart(ref);
        if (s) {
          const outcome = await startDetached(s, false);
          if (outcome.error) throw new UsageError(`cannot restart container ${ref}: ${outcome.error}`);
          emit("container", "restart", containerActor(s));
        }
        console.log(ref);
      } catch (e) {
        log().error((e as Error).message);
        failed = true;
      }
    }
    if (failed) process.exitCode = 1;
  },
});
