// How `run -d`, `start` and a foreground run's restart hand a container to a monitor, and hear
// back whether its command started. One monitor supervises every detached container of a runtime
// root: the first one spawned serves monitor.sock beside the records, and later starts ask it over
// that socket (shared-monitor.ts). When there is none (or it refuses, or dies before it accepts),
// a monitor of the container's own is spawned, which then offers itself to the next ones.
//
// The conversation on monitor.sock, one JSON line each:
//   client  -> monitor  MonitorRequest
//   monitor -> client   {"accepted": true|false}   (false: another build, data root, fault
//                                                    point or cgroup, or it is closing)
//   client  -> monitor  "go"                        (every start, after "accepted"; `run -d` once
//                                                    its record is written. A client that closes
//                                                    instead gave up, and the monitor ends the
//                                                    init it spawned ahead, if any)
//   monitor -> client   MonitorReport               (then the monitor ends the connection)
// The client waits for "accepted" at most ACCEPT_WAIT_MS (a monitor frozen, or stuck in another
// start) and then spawns a monitor of its own; it says "go" only after "accepted", so that a
// monitor that answers late never supervises a container that another monitor has.
import { closeSync, openSync, readFileSync, readSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { connectUnix } from "../../ffi/socket";
import { setBlocking } from "../../ffi/process";
import { pollIn } from "../../ffi/poll";
import { containerDir } from "../state/store";
import { dataRoot, runtimeRoot } from "../paths";
import { faultEnv } from "../fault";
import { MONITOR_ENV, selfCommand, WHEN_RECORDED_FLAG, type EarlyInitPlan } from "../engine/self";
import { RESTART_AFTER_FLAG } from "./restart";
import { HOST_LEAF } from "../cgroups/v2";

export type MonitorReport = { ok: true } | { ok: false; error: string; code: number };

/** What a start asks of the shared monitor. */
export interface MonitorRequest {
  /** the asking build, roots, fault point and cgroup (monitorFingerprint): a monitor serves only its own */
  fingerprint: string;
  id: string;
  /** `run -d`: spawn the init now, start the container at "go" */
  plan?: EarlyInitPlan;
  /** a foreground run ended with this code: take over its restarts (RESTART_AFTER_FLAG) */
  handedOver?: number;
}

export const SHARED_SOCKET = "monitor.sock";
/** held (flock) by the shared monitor while it serves SHARED_SOCKET */
export const SHARED_LOCK = "monitor.lock";
/** the shared monitor's own complaints */
export const SHARED_LOG = "monitor.log";

/**
 * Who may share a monitor: the same executable (its inode and mtime: a rebuilt binary gets a
 * monitor of its own; under `bun run src/cli.ts` that is bun's, so edited sources may meet an
 * older monitor), the same data root, the same fault point (the fault suite's MYDOCKER_FAULT,
 * which the monitor acts on too), and the same cgroup: a monitor lives in the cgroup of whoever
 * spawned it, and ends with it (a systemd scope that ends), so it serves only callers from there.
 * The runtime root is the socket's directory.
 */
export function monitorFingerprint(): string {
  const exe = statSync(process.execPath);
  return JSON.stringify([...selfCommand(), exe.ino, exe.mtimeMs, dataRoot(), faultEnv(), placementCgroup()]);
}

/**
 * /proc/self/cgroup as placement reads it: on cgroup2 a process moved into `<own>/mydocker-host`
 * (cgroups/v2.ts, the no-internal-processes rule) is still in `<own>` — and the monitor and its
 * callers are moved there when the first container's cgroup is made.
 */
function placementCgroup(): string {
  const leaf = `/${HOST_LEAF}`;
  return readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .map((line) => (line.startsWith("0::") && line.endsWith(leaf) ? line.slice(0, -leaf.length) : line))
    .map((line) => (line === "0::" ? "0::/" : line))
    .join("\n");
}

/** How long a start waits for the shared monitor's "accepted" before it spawns a monitor of its own. */
export const ACCEPT_WAIT_MS = 2_000;

/** A monitor asked before the container's record exists (`run -d`); `go` once it is written. */
export interface EarlyMonitor {
  /** the record is written: start it; the monitor's report, undefined if the monitor died first */
  go(): MonitorReport | undefined;
  /** the run failed before the record: the monitor ends the init it spawned ahead */
  abandon(): void;
}

/** `run -d`: a monitor for container `id`, told `plan` so that it spawns the init at once. */
export function monitorEarly(id: string, plan: EarlyInitPlan): EarlyMonitor {
  const shared = askShared({ fingerprint: monitorFingerprint(), id, plan });
  if (!shared) return spawnOwnMonitorEarly(id, plan);
  return {
    go: () => {
      const answer = shared.go();
      return answer.accepted ? answer.report : spawnMonitor(id, []); // refused, or no answer: one of its own
    },
    abandon: () => shared.close(),
  };
}

/** `start`, a restart handed over: a monitor for the recorded container `id`; its report, undefined if it died first. */
export function monitorNow(id: string, handedOver?: number): MonitorReport | undefined {
  const answer = askShared({ fingerprint: monitorFingerprint(), id, ...(handedOver === undefined ? {} : { handedOver }) })?.go();
  if (answer?.accepted) return answer.report;
  return spawnMonitor(id, handedOver === undefined ? [] : [RESTART_AFTER_FLAG, String(handedOver)]);
}

interface SharedAsk {
  /**
   * Waits for "accepted", says "go" and reads the report. Not accepted: it refused, was gone
   * before it read the request, or did not answer in time. Accepted: its report, undefined if it
   * died before it reported.
   */
  go(): { accepted: false } | { accepted: true; report: MonitorReport | undefined };
  /** the start gave up (before go) */
  close(): void;
}

/** Sends `request` to the shared monitor; undefined when there is none to ask. */
function askShared(request: MonitorRequest): SharedAsk | undefined {
  let fd: number;
  try {
    fd = connectUnix(join(runtimeRoot(), SHARED_SOCKET));
  } catch {
    return undefined; // none (ENOENT), or a dead one's socket (ECONNREFUSED), or a path too long
  }
  if (!sendLine(fd, JSON.stringify(request))) {
    closeSync(fd);
    return undefined;
  }
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    close,
    go: () => {
      const lines = lineReader(fd);
      try {
        // (0: no answer in time, or a signal came: either way we do not wait on)
        const accepted = pollIn(fd, ACCEPT_WAIT_MS) === 0 ? undefined : lines();
        if (parsed<{ accepted?: boolean }>(accepted)?.accepted !== true) return { accepted: false };
        if (!sendLine(fd, "go")) return { accepted: true, report: undefined };
        return { accepted: true, report: parsed<MonitorReport>(lines()) };
      } finally {
        close();
      }
    },
  };
}

/** Lines read from a blocking fd; undefined at its end (or a reset connection). */
function lineReader(fd: number): () => string | undefined {
  const buf = Buffer.alloc(64 * 1024);
  let pending = "";
  return () => {
    for (;;) {
      const nl = pending.indexOf("\n");
      if (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        return line;
      }
      let n: number;
      try {
        n = readSync(fd, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EINTR") continue;
        return undefined; // ECONNRESET: closed with our request unread
      }
      if (n === 0) return undefined;
      pending += buf.subarray(0, n).toString();
    }
  };
}

function sendLine(fd: number, text: string): boolean {
  const data = Buffer.from(text + "\n");
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    return true;
  } catch {
    return false; // EPIPE: it is gone
  }
}

/** A `mydocker monitor ID ...` in its own session; its report (fd 3), undefined if it died first. */
function spawnMonitor(id: string, extra: string[]): MonitorReport | undefined {
  // the monitor's own complaints, if it ever has any, go to monitor.log beside the container's
  const monitorLog = openSync(join(containerDir(id), "monitor.log"), "a", 0o600);
  const monitor = Bun.spawn(selfCommand("--root", runtimeRoot(), "--data-root", dataRoot(), "monitor", id, ...extra), {
    stdio: ["ignore", "ignore", monitorLog, "pipe"],
    env: { ...MONITOR_ENV, ...faultEnv() },
    cwd: "/",
    detached: true,
  });
  closeSync(monitorLog);
  const reportFd = monitor.stdio[3] as unknown as number;
  setBlocking(reportFd);
  const report = readReport(reportFd);
  closeSync(reportFd);
  monitor.unref();
  return report;
}

/**
 * A monitor of its own spawned by `run -d` before the container is recorded (its Bun starts
 * meanwhile). It waits for one byte on its fd 4 (WHEN_RECORDED_FLAG): given once the record is
 * written (go); if fd 4 closes without it (the run failed: abandon, or a kill), it exits having
 * touched nothing.
 */
function spawnOwnMonitorEarly(id: string, plan: EarlyInitPlan): EarlyMonitor {
  // (its complaints go to monitor.log once the container's directory exists: it opens it then;
  // `plan`: how it may spawn the container's init while it waits)
  const monitor = Bun.spawn(selfCommand("--root", runtimeRoot(), "--data-root", dataRoot(), "monitor", id, WHEN_RECORDED_FLAG, JSON.stringify(plan)), {
    stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"],
    env: { ...MONITOR_ENV, ...faultEnv() },
    cwd: "/",
    detached: true,
  });
  monitor.unref();
  const reportFd = monitor.stdio[3] as unknown as number;
  const goFd = monitor.stdio[4] as unknown as number;
  setBlocking(reportFd);
  let used = false;
  return {
    go: () => {
      used = true;
      try {
        writeSync(goFd, "g");
      } catch {
        // it died already: its report says nothing, and the caller ends the container
      }
      closeSync(goFd);
      const report = readReport(reportFd);
      closeSync(reportFd);
      return report;
    },
    abandon: () => {
      if (used) return;
      used = true;
      closeSync(goFd);
      closeSync(reportFd);
    },
  };
}

function readReport(fd: number): MonitorReport | undefined {
  return parsed<MonitorReport>(lineReader(fd)());
}

/** A line of JSON; undefined for none, or one cut short (its writer died mid-line). */
function parsed<T>(line: string | undefined): T | undefined {
  if (!line) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
}
