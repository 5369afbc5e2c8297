// Restart policies (`run --restart`), docker's semantics: after the container exits, its monitor
// starts it again — `always`/`unless-stopped` whatever the exit status, `on-failure[:N]` only on a
// non-zero one and at most N times — unless `stop`/`kill` ended it. Between two runs the monitor
// waits out a backoff (docker's restart manager: 100 ms, doubled at each restart, back to 100 ms
// once a run lasted 10 s, at most 1 min). The container's writable layer and log are kept.
//
// There is no daemon: the loop lives in the container's monitor, so nothing restarts after a host
// reboot (or if the monitor is killed); `always` and `unless-stopped` therefore behave alike.
import { FlagError } from "../errors";
import { readState, updateState, type ContainerState } from "../state/store";
import type { OptionValues } from "../cli/argv";
import { logArgs, parseLogOpts, logOptionPairs } from "./logs";

export type RestartPolicy = NonNullable<ContainerState["restartPolicy"]>;

export const restartArgs = {
  restart: { type: "string", valueHint: "no", description: "Restart policy when the container exits: no, on-failure[:N], always, unless-stopped" },
  ...logArgs,
} as const;

/** `no`, `always`, `unless-stopped`, `on-failure`, `on-failure:3` -> the policy. */
export function parseRestartPolicy(text: string): RestartPolicy {
  const [name, count, ...more] = text.split(":");
  const bad = (why: string) => new FlagError(`invalid --restart "${text}": ${why}`);
  if (more.length) throw bad("expected no, on-failure[:N], always or unless-stopped");
  if (name === "on-failure") {
    if (count === undefined) return { name, maximumRetryCount: 0 };
    if (!/^\d+$/.test(count)) throw bad("the maximum retry count must be a non-negative integer");
    return { name, maximumRetryCount: Number(count) };
  }
  if (name === "no" || name === "always" || name === "unless-stopped") {
    if (count !== undefined) throw bad(`maximum retry count cannot be used with restart policy '${name}'`);
    return { name, maximumRetryCount: 0 };
  }
  throw bad("expected no, on-failure[:N], always or unless-stopped");
}

/**
 * What `run`/`create` record for the container's monitor: --restart (nothing for "no"; refused
 * with --rm, as docker), --log-opt's rotation, and -i (a stdin pipe kept for `attach`).
 */
export function supervisionExtras(o: OptionValues): Partial<ContainerState> {
  const extras: Partial<ContainerState> = {};
  const policy = o.restart === undefined ? undefined : parseRestartPolicy(o.restart as string);
  if (policy && policy.name !== "no") {
    if (o.rm === true) throw new FlagError("conflicting options: --restart and --rm");
    Object.assign(extras, { restartPolicy: policy, restartCount: 0 });
  }
  const logOpts = (o["log-opt"] as string[] | undefined) ?? [];
  const rotation = parseLogOpts(logOpts);
  if (rotation) extras.logRotation = rotation;
  if (logOpts.length) extras.logOptions = logOptionPairs(logOpts);
  if (o.interactive === true) extras.openStdin = true;
  return extras;
}

/** Whether a container that ended with `exitCode` is started again (before counting this restart). */
export function shouldRestart(s: Pick<ContainerState, "restartPolicy" | "restartCount" | "stoppedByUser">, exitCode: number): boolean {
  const policy = s.restartPolicy;
  if (!policy || policy.name === "no" || s.stoppedByUser) return false;
  if (policy.name !== "on-failure") return true;
  if (exitCode === 0) return false;
  return policy.maximumRetryCount === 0 || (s.restartCount ?? 0) < policy.maximumRetryCount;
}

export const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 60_000;
/** a run at least this long resets the backoff */
const RESET_AFTER_MS = 10_000;

/** The wait before the next start: doubled after each quick exit, reset after a long run. */
export function nextBackoff(previous: number, ranMs: number): number {
  if (ranMs >= RESET_AFTER_MS) return FIRST_BACKOFF_MS;
  return Math.min(previous * 2, MAX_BACKOFF_MS);
}

/**
 * `stop`/`kill` (docker's rule for kill in stop.ts): the end they cause is the user's wish, so the
 * monitor must not restart it. Recorded before the signal is sent; returns the record as it is now.
 */
export function markStoppedByUser(id: string): ContainerState | undefined {
  return updateState(id, (s) => (s.restartPolicy ? { stoppedByUser: true } : {}));
}

/**
 * Runs the container with `runOnce` (which starts it and resolves when its exit is recorded) and
 * again while its policy says so. Resolves with the last run's outcome.
 */
export async function superviseWithRestarts<O extends { exitCode: number; error?: string }>(
  id: string,
  runOnce: (state: ContainerState) => Promise<O>,
  sleep: (ms: number, cancelled: () => boolean) => Promise<void> = pollingSleep(id),
  /** a run that already ended (a foreground one handed over): the loop begins at its backoff */
  previous?: O,
): Promise<O> {
  let backoff = FIRST_BACKOFF_MS / 2; // the first restart waits FIRST_BACKOFF_MS
  for (;;) {
    const began = Date.now();
    const outcome = previous ?? (await runOnce(readState(id) ?? gone(id)));
    previous = undefined;
    const ended = readState(id);
    // a start that failed is not retried (docker reports it to `run`/`start` instead)
    if (!ended || ended.status !== "exited" || outcome.error !== undefined || !shouldRestart(ended, outcome.exitCode)) return outcome;
    backoff = nextBackoff(backoff, Date.now() - began);
    // (a `stop` since `ended` was read is seen here, under the lock: never "restarting" after it)
    let cancelled = false;
    const waiting = updateState(id, (s) => {
      cancelled = s.stoppedByUser === true;
      return cancelled ? {} : { restarting: true, restartCount: (s.restartCount ?? 0) + 1 };
    });
    if (!waiting || cancelled) return outcome;
    await sleep(backoff, () => {
      const now = readState(id);
      return !now || now.stoppedByUser === true; // stopped, or removed (`rm -f`)
    });
    // Started again unless stopped (or removed) meanwhile: a fresh "created" record, as `start` makes.
    let again = false;
    updateState(id, (s) => {
      if (s.stoppedByUser || s.status !== "exited") return { restarting: false };
      again = true;
      return { ...freshRun(), restarting: false };
    });
    if (!again) return outcome;
  }
}

const gone = (id: string): never => {
  throw new Error(`container ${id} is gone`);
};

/** `mydocker monitor ID --restart-after CODE`: take over a foreground run's restarts after it exited with CODE. */
export const RESTART_AFTER_FLAG = "--restart-after";

/** The fields of a record reset for another run of the same container (restart, `start`). */
export function freshRun(): Partial<ContainerState> {
  return { status: "created", pid: undefined, pidStartTime: undefined, exitCode: undefined, error: undefined, oomKilled: false, finished: undefined };
}

/** Sleeps `ms`, checking every 50 ms whether the wait is called off (a `stop` between two runs). */
function pollingSleep(_id: string) {
  return async (ms: number, cancelled: () => boolean) => {
    const until = Date.now() + ms;
    while (Date.now() < until && !cancelled()) await Bun.sleep(Math.min(50, until - Date.now()));
  };
}
