// A foreground `mydocker run` spawns its container's init first thing, before the CLI's modules
// are loaded and its flags parsed (~18 ms of a start in a slow hour, see README, Performance):
// the init's Bun then starts beside that work instead of after it. What the init is spawned with
// (its stdio, a network namespace) is guessed from the bare argv (src/cli/run-guess.ts); `run`
// adopts the init only when its real parse agrees, and ends it otherwise, as it ends any early
// init its start did not use.
import { guessForegroundInit } from "../cli/run-guess";
import { faultPoint } from "../fault";
import { mark, now, startTrace } from "../trace";
import { abandonEarlyInit, spawnInitEarly, type EarlyInit, type StdioPlan } from "./spawn-init";

let ahead: EarlyInit | undefined;
/** when the head start ended, if it began the trace (`--trace`) */
let tracedUntil: number | undefined;

/** Spawns the init for `argv` (the words after the executable) when it is a foreground run; else nothing. */
export function startInitAhead(argv: string[]): void {
  const guess = guessForegroundInit(argv);
  if (!guess || process.getuid?.() !== 0) return;
  if (guess.trace) {
    startTrace("parent");
    mark("Bun start-up (process start to the first line)", performance.timeOrigin);
  }
  try {
    ahead = spawnInitEarly(guess.stdio, guess.bridge, " ahead of the command line");
  } catch {
    return; // the start proper spawns its own, and reports what fails
  }
  if (!ahead) return;
  // Until `run` adopts it, the init must not keep this process alive (`run --help`, a bad
  // flag): it is ended when we exit.
  ahead.init.unref();
  const mine = ahead;
  process.on("exit", () => abandonEarlyInit(mine));
  if (guess.trace) tracedUntil = now();
  faultPoint("run:after-head-start");
}

/**
 * The init spawned ahead, if it was spawned as `run` would spawn it now; an init spawned on a
 * wrong guess is ended here. `run` ends an adopted one too if its start does not take it.
 */
export function adoptInitAhead(stdio: StdioPlan, newNetworkNamespace: boolean): EarlyInit | undefined {
  const early = ahead;
  ahead = undefined;
  if (!early) return undefined;
  if (early.newNetworkNamespace !== newNetworkNamespace || early.stdio.join() !== stdio.join()) {
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
