// How a container of the docker-like CLI ends, in the three ways it can: its supervisor saw it
// exit (settle), its supervisor died and whoever notices finishes the job (finishOrphan), or the
// user removes it (removeStopped, removeDead). Each takes the container's lock, releases what it
// used on the host — its cgroup (killing anything left in it) and its root's overlay mount — and
// then records the exit or removes the record. Safe to repeat; the second caller finds it done.
import { readFileSync } from "node:fs";
import { openCgroup, type Cgroup } from "../cgroups";
import { teardown } from "../engine/container";
import { UsageError } from "../errors";
import { readState, removeContainerRecord, updateState, withContainerLock, type ContainerState } from "../state/store";
import { deleteRootfs, releaseRootfs } from "./rootfs";
import { containerActor, emit } from "../events";
import { releaseNetwork } from "../network/attach";
import { step } from "../trace";

export interface Outcome {
  exitCode: number;
  oomKilled: boolean;
  /** set when the command never ran, or its end could not be recorded */
  error?: string;
}

const cgroupOf = (s: ContainerState): Cgroup =>
  openCgroup({ id: s.id, parent: s.cgroup.parent, selfCgroup: s.cgroup.selfCgroup || readFileSync("/proc/self/cgroup", "utf8") });

/** The supervisor's end of a container: release the host, then record the exit (or remove it, --rm). */
export function settle(state: ContainerState, outcome: Outcome, cgroup = cgroupOf(state)): void {
  withContainerLock(state.id, () => {
    const problem = releaseHost(state, cgroup);
    if (state.autoRemove && !problem) return removeEverything(state);
    updateState(state.id, () => ({
      status: "exited",
      exitCode: outcome.exitCode,
      oomKilled: outcome.oomKilled,
      error: outcome.error ?? problem,
      finished: new Date().toISOString(),
    }), true);
  });
}

/**
 * Finishes what a dead supervisor could not: the container's processes are gone (or are killed
 * now), its cgroup and mounts removed; the exit status is unknown (nobody was its parent to
 * collect it). `evenIfSupervised`: the caller knows better than the record (the starter whose
 * monitor died before it reported; a stop whose supervisor did not record the exit in time).
 */
export function finishOrphan(state: ContainerState, opts: { evenIfSupervised?: boolean } = {}): void {
  withContainerLock(state.id, () => {
    const now = readState(state.id);
    // (under the lock, again: its supervisor may have recorded an exit, or a start, meanwhile)
    const { isOrphaned } = require("../state/live") as typeof import("../state/live");
    if (!now || now.status === "exited" || (!opts.evenIfSupervised && !isOrphaned(now))) return;
    const problem = releaseHost(now, cgroupOf(now));
    if (now.autoRemove && !problem) return removeEverything(now);
    updateState(state.id, () => ({ status: "exited", exitCode: null, error: problem, finished: new Date().toISOString() }), true);
  });
}

/** `rm` of a stopped container: whoever ran it, no cgroup or mount may be left; then everything goes. */
export function removeStopped(state: ContainerState): void {
  withContainerLock(state.id, () => {
    // (under the lock, again: a restart policy's monitor may have gone from "exited" to its backoff)
    const now = readState(state.id);
    const { monitorAlive } = require("../state/live") as typeof import("../state/live");
    if (now?.restarting && monitorAlive(now)) throw new UsageError(`you cannot remove a restarting container ${state.id}: stop the container before attempting removal or force remove`);
    const problem = releaseHost(state, cgroupOf(state));
    if (problem) throw new UsageError(`cannot remove container ${state.name}: ${problem}`);
    removeEverything(state);
  });
}

/**
 * `rm` of a container whose record is broken: its processes cannot be trusted from the record, so
 * what belongs to its id is torn down — the cgroup (`<own cgroup>/mydocker/<id>`, or under the
 * parent the record still names; destroying it kills what runs there) and its writable layer —
 * then the record goes. Without `force`, refused while processes run in that cgroup.
 */
export function removeDead(s: ContainerState, force: boolean): void {
  const label = s.name || s.id.slice(0, 12);
  withContainerLock(s.id, () => {
    const problems: string[] = [];
    try {
      const cgroup = cgroupOf(s);
      if (!force && runningIn(cgroup)) throw new UsageError(`cannot remove container ${label}: its record is broken (${s.error}) and processes still run in its cgroup (use rm -f)`);
      cgroup.destroy();
    } catch (e) {
      if (e instanceof UsageError) throw e;
      problems.push((e as Error).message);
    }
    try {
      releaseNetwork({ id: s.id });
    } catch (e) {
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
    emit("container", "destroy", containerActor(s));
  });
}

/** The cgroup, the network and the overlay mount; returns what went wrong (never throws: the exit is recorded all the same). */
function releaseHost(state: ContainerState, cgroup: Cgroup): string | undefined {
  const problems: string[] = [];
  // the cgroup first: once it is gone, nothing of the container runs to use its network
  let processesGone = false;
  const steps = [
    () => {
      step("its cgroup: what still runs there killed, the directories removed", () => teardown({ id: state.id, rootfs: state.rootfs, cgroup }));
      processesGone = true;
    },
    () => releaseNetwork(state, processesGone),
    () => step("its root unmounted (an overlay)", () => releaseRootfs(state)),
  ];
  for (const step of steps) {
    try {
      step();
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems.length ? `teardown: ${problems.join("; ")}` : undefined;
}

/** Its writable layer, then its state, config and logs. */
function removeEverything(state: ContainerState): void {
  step("its writable layer removed (--rm)", () => deleteRootfs(state));
  const named = readState(state.id) ?? state; // its name now (renamed since the caller read it)
  step("its record removed (--rm)", () => removeContainerRecord(state.id));
  emit("container", "destroy", containerActor(named));
}

function runningIn(cgroup: { pids(): number[] }): boolean {
  try {
    return cgroup.pids().length > 0;
  } catch {
    return false; // no such cgroup
  }
}
