// The supervisor of one container of the docker-like CLI: starts it on the engine, records each
// step in its state, keeps its output (detached: in container.log), waits for it, and settles it
// (lifecycle.ts). The foreground `mydocker run` is the supervisor of its container; a detached one
// is in the hands of a `mydocker monitor` process, shared by the detached containers of a root.
import { readFileSync } from "node:fs";
import { processStartTime } from "../state/proc";
import { readState, updateState, type ContainerState } from "../state/store";
import type { Spec } from "../spec";
import { startContainer, StartError, waitForExit, type EarlyInit, type StartedContainer, type StdioPlan } from "../engine/container";
import { LogWriter } from "./logs";
import { faultPoint } from "../fault";
import { mark, now, step } from "../trace";
import { settle, type Outcome } from "./lifecycle";
import { prepareRootfs, releaseRootfs } from "./rootfs";
import { containerActor, emit } from "../events";
import { prepareNetwork, usesBridge, type NetworkPlan } from "../network/attach";
import { withSharedNetwork } from "../network/spec";
import { log } from "../log";

export type { Outcome };

export interface SuperviseOptions {
  stdio: StdioPlan;
  /** write the container's stdout/stderr (piped) to this JSON-lines log */
  logFile?: string;
  /** an init spawned ahead by `run` (see EarlyInit in engine/container.ts) */
  early?: EarlyInit;
  /** called once the command runs (or failed to start) */
  onStarted?: (result: { ok: true; pid: number } | { ok: false; error: string; code: number }) => void;
  /** called with the init while it runs (e.g. to forward signals); a promise returned (copying its output) is awaited before the exit is recorded */
  onRunning?: (c: StartedContainer) => void | Promise<void>;
}


export async function superviseContainer(state: ContainerState, spec: Spec, opts: SuperviseOptions): Promise<Outcome> {
  // The container's cgroup goes under its starter's (recorded by run/create: a shared monitor
  // serves callers from any cgroup), else under ours; whoever reopens it later finds it there.
  const selfCgroup = state.cgroup.selfCgroup || readFileSync("/proc/self/cgroup", "utf8");
  let started: StartedContainer;
  let network: NetworkPlan | undefined;
  // The record says "running" once the init is about to exec the command (while its execve runs).
  // A container that cannot be recorded as running is not left running unrecorded: the start
  // fails, which ends it, and that is recorded (with the space its start set aside).
  let recordedRunning = false;
  const recordRunning = (pid: number) => {
    faultPoint("supervise:before-running");
    recordedRunning = true;
    try {
      updateState(state.id, () => ({
        status: "running",
        pid,
        pidStartTime: processStartTime(pid),
        started: new Date().toISOString(),
        monitorPid: process.pid,
        monitorStartTime: processStartTime(process.pid),
        cgroup: { ...state.cgroup, selfCgroup },
        ...(network?.record ? { network: network.record } : {}),
      }));
    } catch (e) {
      throw new StartError(`cannot record that the container runs: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 125);
    }
  };
  try {
    started = startContainer({
      id: state.id,
      spec: withSharedNetwork(state, spec),
      stdio: opts.stdio,
      cgroup: { parent: state.cgroup.parent, selfCgroup },
      newNetworkNamespace: usesBridge(state),
      early: opts.early,
      // while the init's Bun starts
      beforeOrders: () => {
        step("the container's root (an overlay mount, for an image or the default rootfs)", () => prepareRootfs(state));
        network = step("network: its /etc/hostname, hosts, resolv.conf (on a bridge its address follows the orders)", () => prepareNetwork(state));
      },
      // on a bridge: its veth pair and address, while the init makes the root
      ...(usesBridge(state) ? { afterOrders: (pid: number) => network?.wire?.(pid) } : {}),
      onExec: recordRunning,
    });
  } catch (e) {
    const { message, code } = e instanceof StartError ? e : new StartError((e as Error).message ?? String(e), 125);
    // an execve that failed after the init said `exec` (126, 127): the command never ran
    if (recordedRunning) {
      try {
        updateState(state.id, () => ({ pid: undefined, pidStartTime: undefined, started: undefined }));
      } catch {
        // settle records the exit all the same (with the space its start set aside)
      }
    }
    releaseRootfs(state);
    settle(state, { exitCode: code, oomKilled: false, error: message });
    opts.onStarted?.({ ok: false, error: message, code });
    return { exitCode: code, oomKilled: false, error: message };
  }
  faultPoint("supervise:after-start");
  emit("container", "start", containerActor(state));
  const logs = opts.logFile ? new LogWriter(opts.logFile) : undefined;
  const pumped = logs ? logs.pump(started.init.stdout, started.init.stderr) : Promise.resolve();
  opts.onStarted?.({ ok: true, pid: started.pid });
  // (a relay that fails, e.g. a log on a full disk, loses output, not the container: its exit is still recorded)
  const relayed = Promise.resolve(opts.onRunning?.(started)).catch((e) => log().error(`container ${state.id}: its output: ${(e as Error).message ?? e}`));
  const running = now();
  const exit = await waitForExit(started);
  mark("wait: the command runs until it exits", running, `exit ${exit.exitCode}`);
  await pumped;
  await relayed;
  logs?.close();
  emit("container", "die", containerActor(readState(state.id) ?? state, { exitCode: String(exit.exitCode) })); // its name now (a rename)
  try {
    step("teardown: cgroup, overlay, record", () => settle(state, exit, started.cgroup));
  } catch (e) {
    // The command's exit status is what the caller must get, even when it cannot be recorded
    // (a full disk beyond the container's reserve): say why, keep the status.
    return { ...exit, error: `the exit could not be recorded: ${(e as Error).message}` };
  }
  return exit;
}

