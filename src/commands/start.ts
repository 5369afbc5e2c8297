// `mydocker start [-a] [-i] CONTAINER...`: starts created or exited containers again with their
// recorded config (an exited one keeps its writable layer; its log is appended to). Without -a
// each runs detached under a monitor, as `run -d`, and its name is printed; with -a (one
// container) this process is attached to its output (-i: its input) and exits with its status.
import { defineCommand } from "citty";
import { FlagError, UsageError } from "../cli/argv";
import { findLive, monitorAlive, waitFor } from "../state/live";
import { readConfig, updateState, type ContainerState } from "../state/store";
import { freshRun } from "../containers/restart";
import { log } from "../log";
import { parseCommand } from "./args";
import { handOverRestarts, runInForeground, startDetached } from "./run";

const args = {
  attach: { type: "boolean", alias: "a", description: "Attach to the container's output and forward signals" },
  interactive: { type: "boolean", alias: "i", description: "Attach the container's stdin" },
} as const;

/**
 * Makes a created or exited container startable: an exited one is reset to "created" (its exit
 * forgotten, its restart count and a `stop`'s mark cleared), once its last monitor is gone.
 * Returns undefined when it is already running (nothing to do).
 */
export async function prepareStart(ref: string): Promise<ContainerState | undefined> {
  let s = findLive(ref);
  if (s.status === "running" || s.status === "paused") return undefined;
  if (s.status === "dead") throw new UsageError(`container ${ref} cannot be started: ${s.error}`);
  if (s.status === "exited") {
    if (s.restarting && monitorAlive(s) && !s.stoppedByUser) throw new UsageError(`container ${ref} is restarting: stop it first`);
    // its monitor records the exit before it goes: let it go (or give up its claim) first
    await waitFor(s.id, (now) => !now || !monitorAlive(now), 5_000);
    const reset = updateState(s.id, (now) =>
      now.status === "exited" && !monitorAlive(now) ? { ...freshRun(), restartCount: 0, restarting: false, stoppedByUser: false, monitorPid: undefined, monitorStartTime: undefined } : {},
    );
    if (!reset || reset.status !== "created") throw new UsageError(`container ${ref} is ${reset?.status ?? "gone"}: cannot start it now`);
    s = reset;
  }
  return s;
}

export default defineCommand({
  meta: { name: "start", description: "Start one or more created or stopped containers" },
  args: { ...args, container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("start", rawArgs, args, 1, "CONTAINER...");
    if (process.getuid?.() !== 0) throw new UsageError("mydocker start must be run as root");
    const attach = options.attach === true || options.interactive === true;
    if (attach && positionals.length > 1) throw new FlagError("you cannot start and attach multiple containers at once");
    if (attach) {
      const ref = positionals[0]!;
      const s = await prepareStart(ref);
      if (!s) throw new UsageError(`container ${ref} is already running: use attach`);
      const interactive = options.interactive === true;
      const outcome = await runInForeground(s, readConfig(s.id), interactive, { streams: { stdin: interactive, stdout: true, stderr: true } });
      if (outcome.error) log().error(outcome.error);
      else handOverRestarts(s.id, outcome.exitCode);
      process.exitCode = outcome.exitCode;
      return;
    }
    let failed = false;
    for (const ref of positionals) {
      try {
        const s = await prepareStart(ref);
        if (s) {
          const outcome = await startDetached(s, false);
          if (outcome.error) throw new UsageError(`cannot start container ${ref}: ${outcome.error}`);
        }
        console.log(ref);
      } catch (e) {
        // docker goes on with the others and fails at the end
        log().error((e as Error).message);
        failed = true;
      }
    }
    if (failed) process.exitCode = 1;
  },
});
