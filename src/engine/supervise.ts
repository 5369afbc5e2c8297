// The supervisor of one container: starts it, records each step in its state, keeps its output
// (detached: in container.log), waits for it, tears it down and records how it ended. The
// foreground `mydocker run` is the supervisor of its container; a detached one gets a
// `mydocker monitor` process of its own.
import { readFileSync } from "node:fs";
import { openCgroup } from "../cgroups";
import { processStartTime } from "../state/proc";
import { readState, removeContainerRecord, updateState, withContainerLock, type ContainerState } from "../state/store";
import type { Spec } from "../spec";
import { startContainer, StartError, teardown, waitForExit, type StartedContainer, type StdioPlan } from "./container";
import { LogWriter } from "./logs";
import { faultPoint } from "../fault";
import { deleteRootfs, prepareRootfs, releaseRootfs } from "./rootfs";

export interface SuperviseOptions {
  stdio: StdioPlan;
  /** write the container's stdout/stderr (piped) to this JSON-lines log */
  logFile?: string;
  /** called once the command runs (or failed to start) */
  onStarted?: (result: { ok: true; pid: number } | { ok: false; error: string; code: number }) => void;
  /** called with the init while it runs (e.g. to forward signals) */
  onRunning?: (c: StartedContainer) => void;
}

export interface Outcome {
  exitCode: number;
  oomKilled: boolean;
  /** set when the command never ran */
  error?: string;
}

export async function superviseContainer(state: ContainerState, spec: Spec, opts: SuperviseOptions): Promise<Outcome> {
  // The container's cgroup goes under ours: whoever reopens it later needs to know where we were.
  const selfCgroup = readFileSync("/proc/self/cgroup", "utf8");
  let started: StartedContainer;
  try {
    prepareRootfs(state);
    started = startContainer({ id: state.id, spec, stdio: opts.stdio, cgroup: { parent: state.cgroup.parent, selfCgroup } });
  } catch (e) {
    const { message, code } = e instanceof StartError ? e : new StartError((e as Error).message ?? String(e), 125);
    releaseRootfs(state);
    finish(state, { exitCode: code, oomKilled: false, error: message });
    opts.onStarted?.({ ok: false, error: message, code });
    return { exitCode: code, oomKilled: false, error: message };
  }
  faultPoint("supervise:after-start");
  updateState(state.id, () => ({
    status: "running",
    pid: started.pid,
    pidStartTime: processStartTime(started.pid),
    started: new Date().toISOString(),
    monitorPid: process.pid,
    monitorStartTime: processStartTime(process.pid),
    cgroup: { ...state.cgroup, selfCgroup },
  }));
  const logs = opts.logFile ? new LogWriter(opts.logFile) : undefined;
  const pumped = logs ? logs.pump(started.init.stdout, started.init.stderr) : Promise.resolve();
  opts.onStarted?.({ ok: true, pid: started.pid });
  opts.onRunning?.(started);
  const exit = await waitForExit(started);
  await pumped;
  logs?.close();
  try {
    withContainerLock(state.id, () => {
      const problem = cleanupHost(state, started.cgroup);
      finish(state, problem ? { ...exit, error: problem } : exit);
    });
  } catch (e) {
    // The command's exit status is what the caller must get, even when it cannot be recorded
    // (a full disk beyond the container's reserve): say why, keep the status.
    return { ...exit, error: `the exit could not be recorded: ${(e as Error).message}` };
  }
  return exit;
}

/** Records the end (even when the teardown failed), or removes the container when it had --rm. */
function finish(state: ContainerState, outcome: Outcome): void {
  if (state.autoRemove) return removeContainer(state);
  updateState(state.id, () => ({
    status: "exited",
    exitCode: outcome.exitCode,
    oomKilled: outcome.oomKilled,
    error: outcome.error,
    finished: new Date().toISOString(),
  }));
}

/**
 * Removes what a stopped container used on the host: its cgroup (killing anything left in it)
 * and its overlay mount. Safe to repeat; never throws: returns what went wrong, if anything, so
 * that the exit is recorded all the same and a later command can try again.
 */
export function cleanupHost(state: ContainerState, cgroup = openCgroup({ id: state.id, parent: state.cgroup.parent, selfCgroup: state.cgroup.selfCgroup })): string | undefined {
  const problems: string[] = [];
  for (const step of [() => teardown({ id: state.id, rootfs: state.rootfs, cgroup }), () => releaseRootfs(state)]) {
    try {
      step();
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems.length ? `teardown: ${problems.join("; ")}` : undefined;
}

/**
 * Finishes what a dead supervisor could not: the container's processes are gone (or are killed
 * now), its cgroup and mounts removed; the exit status is unknown (nobody was its parent to
 * collect it). Whoever gets the container's lock first does it; the others find it done.
 */
export function finishOrphan(state: ContainerState): void {
  withContainerLock(state.id, () => {
    const now = readState(state.id);
    if (!now || now.status === "exited") return;
    const problem = cleanupHost(now);
    if (now.autoRemove && !problem) return removeContainer(now);
    updateState(state.id, () => ({ status: "exited", exitCode: null, error: problem, finished: new Date().toISOString() }));
  });
}

/** Everything of a stopped container: its writable layer, then its state, config and logs. */
export function removeContainer(state: ContainerState): void {
  deleteRootfs(state);
  removeContainerRecord(state.id);
}
