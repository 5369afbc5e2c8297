// What /proc says about a process. A pid alone is never trusted (pids are recycled): it is paired
// with the process's start time, field 22 of /proc/PID/stat (proc(5)), in clock ticks since boot.
import { readFileSync } from "node:fs";

export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm (field 2) may hold spaces and parentheses: split after the last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[19]); // field 22 overall; fields[0] is field 3
  } catch {
    return undefined;
  }
}

/** True when `pid` runs and is the same process that was started at `startTime`. */
export function isSameProcess(pid: number | undefined, startTime: number | undefined): boolean {
  if (!pid || startTime === undefined) return false;
  const now = processStartTime(pid);
  if (now !== startTime) return false;
  // a zombie has exited; its exit status is waiting for its parent
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8");
    return state.slice(state.lastIndexOf(")") + 2, state.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Signals `pid` only if it is still the process we started. */
export function signalProcess(pid: number | undefined, startTime: number | undefined, signal: NodeJS.Signals | number): boolean {
  if (!isSameProcess(pid, startTime)) return false;
  try {
    process.kill(pid!, signal);
    return true;
  } catch {
    return false;
  }
}

/** This boot's id: state written before a reboot names another one. */
export function bootId(): string {
  return (cachedBootId ??= readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
}
let cachedBootId: string | undefined;

/**
 * The one liveness check of every record (container, monitor, OCI init): the process recorded in
 * this boot, with that start time, still runs (and is not a zombie).
 */
export function isAlive(p: { pid?: number; startTime?: number; bootId: string }): boolean {
  return p.bootId === bootId() && isSameProcess(p.pid, p.startTime);
}
