// A container's status as it really is, not as last written: a running container whose PID 1 is
// gone has exited, and when its supervisor died too, whoever notices finishes the teardown.
import { finishOrphan } from "../containers/lifecycle";
import { isAlive } from "./proc";
import { findContainer, listStates, NoSuchContainer, readRecord, readState, updateState, type ContainerState } from "./store";

const alive = (pid: number | undefined, startTime: number | undefined, s: ContainerState) => isAlive({ pid, startTime, bootId: s.bootId });

export const initAlive = (s: ContainerState) => alive(s.pid, s.pidStartTime, s);
export const monitorAlive = (s: ContainerState) => alive(s.monitorPid, s.monitorStartTime, s);

/**
 * The state brought up to date with the processes it names; undefined when finishing an orphan
 * removed it (--rm). A dead (broken) record names no process it could trust.
 */
export function refresh(s: ContainerState): ContainerState | undefined {
  if (s.status === "exited") return s.restarting && !monitorAlive(s) ? abandonRestart(s) : s;
  if (s.status === "dead") return s;
  // "created": being started by its monitor; if the monitor died first, nobody ever will. One
  // that nobody claimed (`create`, no monitor recorded) waits for a `start`.
  if (s.status === "created" ? waitsForStart(s) || monitorAlive(s) : initAlive(s)) return s;
  // PID 1 is gone. Its supervisor records the exit (and its code) in a moment: until it has, the
  // container is shown as it was recorded, as docker shows it until its daemon has handled the
  // exit — never "exited" without its exit code. If the supervisor is gone too (killed, or a
  // reboot), finish its work now.
  if (!orphaned(s)) return s;
  try {
    finishOrphan(s);
  } catch (e) {
    // its teardown could not be recorded (a full disk): show it as it is; the next command retries
    return { ...s, status: "exited", exitCode: null, error: (e as Error).message };
  }
  return readRecord(s.id);
}

/**
 * Its monitor died in a restart policy's backoff: no restart is coming, so it is simply exited
 * (with its last run's status). Only a record still as read is changed (a `start` may have
 * claimed it meanwhile).
 */
function abandonRestart(s: ContainerState): ContainerState | undefined {
  return updateState(s.id, (now) =>
    now.status === "exited" && now.restarting && now.monitorPid === s.monitorPid && now.monitorStartTime === s.monitorStartTime && !monitorAlive(now) ? { restarting: false } : {},
  );
}

export function findLive(ref: string): ContainerState {
  const s = refresh(findContainer(ref));
  if (!s) throw new NoSuchContainer(ref);
  return s;
}

export const listLive = (): ContainerState[] => listStates().flatMap((s) => refresh(s) ?? []);

const waitsForStart = (s: ContainerState) => s.status === "created" && s.monitorPid === undefined;

/** Its PID 1 (or, while created, its starter) and its supervisor are both gone. */
export const isOrphaned = (s: ContainerState): boolean => s.status !== "exited" && s.status !== "dead" && orphaned(s);

const orphaned = (s: ContainerState): boolean => {
  if (s.status === "exited" || waitsForStart(s) || !((s.status === "created" || !initAlive(s)) && !monitorAlive(s))) return false;
  // The record may have moved on between our read and the liveness checks: a `run -d` exits
  // right after its monitor recorded "running", so "created" read before and the starter found
  // gone after is no orphan. Only a record still as read names processes that are truly gone.
  const now = readRecord(s.id);
  return !!now && now.status === s.status && now.pid === s.pid && now.monitorPid === s.monitorPid && now.monitorStartTime === s.monitorStartTime;
};

/**
 * Waits (polling) until `pred` holds for the container's recorded state, or `timeoutMs` passes.
 * An orphan (PID 1 and supervisor both gone) is finished on the way.
 */
export async function waitFor(id: string, pred: (s: ContainerState | undefined) => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let s = readState(id);
    if (s && orphaned(s)) {
      finishOrphan(s);
      s = readState(id);
    }
    if (pred(s)) return true;
    if (Date.now() >= deadline) return false;
    await Bun.sleep(20);
  }
}
