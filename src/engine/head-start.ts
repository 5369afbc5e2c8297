// A foreground `mydocker run`, and `mydocker exec`, spawn the init process first thing, before
// the CLI's modules are loaded and its flags parsed (~6-10 ms of a start in a slow hour, see
// README, Performance): the init's Bun then starts beside that work instead of after it. What
// the init is spawned with (its stdio; a network namespace; for exec, the container's PID
// namespace) is guessed from the bare argv (src/cli/init-guess.ts) and, for exec, the
// container's record; the command adopts the init only when its real parse and look-up agree,
// and ends it otherwise, as it ends any early init its start did not use.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { guessExecInit, guessForegroundInit } from "../cli/init-guess";
import { processStartTime } from "../state/proc";
import { faultPoint } from "../fault";
import { mark, now, startTrace } from "../trace";
import { abandonEarlyInit, spawnInitEarly, type EarlyInit, type StdioPlan } from "./spawn-init";

let ahead: EarlyInit | undefined;
/** when the head start ended, if it began the trace (`--trace`) */
let tracedUntil: number | undefined;

/** Spawns the init for `argv` (the words after the executable) when it is a foreground run or an exec; else nothing. */
export function startInitAhead(argv: string[]): void {
  if (process.getuid?.() !== 0) return;
  const run = argv.includes("run") ? guessForegroundInit(argv) : undefined;
  const exec = run ? undefined : guessExecInit(argv);
  const pid = exec && runningPid(exec.container, exec.root);
  if (!run && !pid) return;
  const trace = run?.trace ?? exec!.trace;
  if (trace) {
    startTrace("parent");
    mark("Bun start-up (process start to the first line)", performance.timeOrigin);
  }
  try {
    ahead = run
      ? spawnInitEarly(run.stdio, run.bridge, " ahead of the command line")
      : spawnInitEarly(exec!.stdio, false, " ahead of the command line, in the container's PID namespace", `/proc/${pid}/ns/pid`);
  } catch {
    return; // the command spawns its own, and reports what fails
  }
  if (!ahead) return;
  // Until the command adopts it, the init must not keep this process alive (`--help`, a bad
  // flag): it is ended when we exit.
  ahead.init.unref();
  const mine = ahead;
  process.on("exit", () => abandonEarlyInit(mine));
  if (trace) tracedUntil = now();
  faultPoint("head-start:after-spawn");
}

/**
 * The init spawned ahead, if it was spawned as the command would spawn it now (the same stdio,
 * network namespace and PID namespace); an init spawned on a wrong guess is ended here. The
 * command ends an adopted one too if its start does not take it.
 */
export function adoptInitAhead(stdio: StdioPlan, newNetworkNamespace: boolean, pidNamespace?: string): EarlyInit | undefined {
  const early = ahead;
  ahead = undefined;
  if (!early) return undefined;
  if (early.newNetworkNamespace !== newNetworkNamespace || early.stdio.join() !== stdio.join() || early.pidNamespace !== pidNamespace) {
    abandonEarlyInit(early);
    return undefined;
  }
  early.init.ref();
  return early;
}

/** Ends an init spawned ahead that no start took (`run -d`, whose monitor spawns its own). */
export function abandonInitAhead(): void {
  abandonEarlyInit(ahead);
  ahead = undefined;
}

/** When the head start ended, if it began the trace; else undefined. */
export const headStartTracedUntil = (): number | undefined => tracedUntil;

/**
 * The recorded PID 1 of a running container named `ref` (a name, a full id or a unique id
 * prefix), read from the records as they are, if that process still lives; `exec`'s own look-up
 * decides (under the records' lock, with the boot id too).
 */
function runningPid(ref: string, root: string | undefined): number | undefined {
  const dir = resolve(root ?? (process.env.MYDOCKER_ROOT || "/run/mydocker"));
  const matches: number[] = [];
  try {
    for (const id of readdirSync(dir)) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      let state: { name?: unknown; status?: unknown; pid?: unknown; pidStartTime?: unknown };
      try {
        state = JSON.parse(readFileSync(join(dir, id, "state.json"), "utf8"));
      } catch {
        continue;
      }
      // its PID 1 as recorded, and still that process (not a pid reused since: its start time)
      const pid = state.status === "running" && typeof state.pid === "number" && processStartTime(state.pid) === state.pidStartTime ? state.pid : undefined;
      if (id === ref || state.name === ref) return pid;
      if (/^[0-9a-f]+$/.test(ref) && id.startsWith(ref)) matches.push(pid ?? 0);
    }
  } catch {
    return undefined;
  }
  return matches.length === 1 && matches[0]! > 0 ? matches[0] : undefined;
}
