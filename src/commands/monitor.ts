// `mydocker monitor ID` (internal): supervises a detached container. Started by `run -d`/`start`
// in its own session; reports on fd 3 whether the command started, then waits for it, keeps its
// output in container.log (rotated per --log-opt), serves attach.sock for `attach` (the pty master
// of a -t container, the stdin pipe of a -i one), records its exit and tears it down — and starts
// it again while its restart policy says so (src/containers/restart.ts). Once it has reported on
// its container it offers itself as the shared monitor (src/containers/shared-monitor.ts): later starts hand
// their containers to it instead of spawning a monitor each, and it ends with the last of them.
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { UsageError } from "../cli/argv";
import { superviseContainer, type Outcome } from "../containers/supervise";
import { RESTART_AFTER_FLAG, superviseWithRestarts } from "../containers/restart";
import { LogWriter } from "../containers/logs";
import { AttachServer, Frame } from "../containers/attach-socket";
import type { MonitorReport } from "../containers/monitor-link";
import { SharedMonitor, type SharedStart } from "../containers/shared-monitor";
import { containerDir, logPath, readConfig, readState, updateState, type ContainerState } from "../state/store";
import { finishOrphan } from "../containers/lifecycle";
import { processStartTime } from "../state/proc";
import { abandonEarlyInit, spawnInitEarly, type EarlyInit, type StartedContainer } from "../engine/container";
import { dup2, setNonBlocking, setWindowSize } from "../../ffi/tty";
import { detachedStdio, WHEN_RECORDED_FD, WHEN_RECORDED_FLAG, type EarlyInitPlan } from "../engine/self";
import { log } from "../log";

export type { MonitorReport };

const REPORT_FD = 3;

export default defineCommand({
  meta: { name: "monitor", description: "(internal) supervise a detached container", hidden: true },
  args: { id: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const [id, flag, value] = rawArgs; // value: the early init's plan (--when-recorded), or the exit code handed over
    if (!id) throw new UsageError("monitor: container id required");
    // `run -d`: the init first (its Bun starts while we wait for the record), used by the first
    // start if the container turns out as planned, else ended (see usableEarlyInit)
    const early = flag === WHEN_RECORDED_FLAG && value ? earlyInit(parsePlan(value)) : undefined;
    // One container's failure must not end the supervision of the others: said, not fatal.
    process.on("unhandledRejection", (e) => log().error(`monitor: ${(e as Error)?.stack ?? e}`));
    process.on("uncaughtException", (e) => log().error(`monitor: ${e.stack ?? e}`));
    const shared = new SharedMonitor(serveShared);
    const releaseOwn = shared.hold();
    // Only the first start is reported, and fd 3 is closed after it: a later write to fd 3 would
    // reach whatever file got that number since. Once ours runs we serve the starts that follow.
    const report = once((r: MonitorReport) => {
      if (r.ok) offerShared(shared);
      try {
        writeSync(REPORT_FD, JSON.stringify(r) + "\n");
        closeSync(REPORT_FD);
      } catch {
        // `run -d` is gone: nobody to tell
      }
    });
    try {
      if (flag === WHEN_RECORDED_FLAG && !awaitRecord(id)) return;
      const outcome = await supervise(id, flag === RESTART_AFTER_FLAG ? Number(value) : undefined, early, report);
      process.exitCode = outcome?.error ? 1 : 0;
    } finally {
      abandonEarlyInit(early);
      releaseOwn();
    }
  },
});

/** A start another mydocker handed us over monitor.sock. Never rejects: one failure must not end the others' monitor. */
async function serveShared({ request, go, report }: SharedStart): Promise<void> {
  const early = earlyInit(request.plan);
  try {
    if (!(await go)) return; // the client gave up (its run failed, or we answered too late): not ours
    await supervise(request.id, request.handedOver, early, once(report));
  } catch (e) {
    log().error(`container ${request.id}: ${(e as Error).message ?? e}`);
  } finally {
    abandonEarlyInit(early);
  }
}

function offerShared(shared: SharedMonitor): void {
  try {
    shared.open();
  } catch (e) {
    log().warn(`cannot serve other containers' starts: ${(e as Error).message}`); // each start then spawns its own monitor
  }
}

const once = <T>(fn: (v: T) => void) => {
  let done = false;
  return (v: T) => {
    if (done) return;
    done = true;
    fn(v);
  };
};

function parsePlan(text: string): EarlyInitPlan | undefined {
  try {
    return JSON.parse(text) as EarlyInitPlan;
  } catch {
    return undefined;
  }
}

function earlyInit(plan: EarlyInitPlan | undefined): EarlyInit | undefined {
  if (!plan) return undefined;
  try {
    return spawnInitEarly(plan.stdio, plan.bridge);
  } catch {
    return undefined; // the start then spawns its own
  }
}

/**
 * Supervises container `id` until it ends for good (its restart policy); `handedOver`: the exit of
 * a foreground run whose restarts we take over. `report`: whether its first start ran (called
 * once). Never rejects: a shared monitor must outlive a failure of one of its containers.
 */
async function supervise(id: string, handedOver: number | undefined, early: EarlyInit | undefined, report: (r: MonitorReport) => void): Promise<Outcome | undefined> {
  const server = new AttachServer(containerDir(id));
  try {
    server.listen();
  } catch {
    // no attach for this container (the directory refused a socket); it runs all the same
  }
  try {
    if (handedOver !== undefined && !claimAfterForeground(id, report)) return undefined;
    const previous: Outcome | undefined = handedOver === undefined ? undefined : { exitCode: handedOver, oomKilled: false };
    return await superviseWithRestarts(id, (state) => runOnce(state, server, report, early), undefined, previous);
  } catch (e) {
    const error = `its monitor failed: ${(e as Error).message ?? e}`;
    report({ ok: false, error, code: 125 });
    endUnsupervised(id, error);
    return { exitCode: 125, oomKilled: false, error };
  } finally {
    server.close();
    letGo(id);
  }
}

/**
 * A supervision that failed (a record that cannot be read or written between two runs, a
 * container removed meanwhile): a container that still names us is ended and recorded exited,
 * since nobody else would while we live on.
 */
function endUnsupervised(id: string, error: string): void {
  log().error(`container ${id}: ${error}`);
  try {
    const now = readState(id);
    if (!now || now.monitorPid !== process.pid) return;
    if (now.status !== "exited") finishOrphan(now, { evenIfSupervised: true });
    // no restart is coming (a failure between two runs leaves "restarting"); `inspect` says why
    updateState(id, (s) => (s.status === "exited" ? { restarting: false, ...(s.error ? {} : { error }) } : {}));
  } catch (e) {
    log().error(`container ${id}: cannot end it: ${(e as Error).message ?? e}`);
  }
}

/**
 * Done with the container (exited for good): the record no longer names us as its monitor. A
 * shared monitor lives on, and `start`, `stop` and `ps` read a live monitor of an exited
 * container as one still in charge of it (restarting it, or about to record its exit).
 */
function letGo(id: string): void {
  const me = processStartTime(process.pid);
  try {
    updateState(id, (now) => (now.status === "exited" && now.monitorPid === process.pid && now.monitorStartTime === me ? { monitorPid: undefined, monitorStartTime: undefined } : {}));
  } catch {
    // removed meanwhile (`rm -f`), or a full disk: a dead monitor's claim is read as none anyway
  }
}

/**
 * Becomes the supervisor of a container whose foreground run just exited (still exited, not
 * stopped meanwhile): from now on it is a detached container (its log, attach).
 */
function claimAfterForeground(id: string, report: (r: MonitorReport) => void): boolean {
  let claimed = false;
  updateState(id, (now) => {
    claimed = now.status === "exited" && now.stoppedByUser !== true;
    return claimed ? { monitorPid: process.pid, monitorStartTime: processStartTime(process.pid), detached: true } : {};
  });
  report({ ok: true }); // not claimed: the user stopped (or started) it meanwhile, nothing to restart

  return claimed;
}

/**
 * Spawned by `run -d` before the record existed: one byte on fd 4 says it is written (false: fd 4
 * closed without it, the run failed, nothing to do). Our stderr then goes to monitor.log beside
 * the container's, as a monitor spawned afterwards gets it.
 */
function awaitRecord(id: string): boolean {
  const byte = Buffer.alloc(1);
  let n: number;
  for (;;) {
    try {
      n = readSync(WHEN_RECORDED_FD, byte);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN" || code === "EINTR") Bun.sleepSync(1); // (a non-blocking socket)
      else return false;
    }
  }
  closeSync(WHEN_RECORDED_FD);
  if (n !== 1) return false;
  const log = openSync(join(containerDir(id), "monitor.log"), "a", 0o600);
  dup2(log, 2);
  closeSync(log);
  return true;
}

/** One run of the container: its output to the log and to attached clients, their input to it. */
function runOnce(state: ContainerState, server: AttachServer, report: (r: MonitorReport) => void, early?: EarlyInit) {
  const spec = readConfig(state.id);
  const tty = spec.process.terminal === true;
  return superviseContainer(state, spec, {
    stdio: detachedStdio(tty, state.openStdin === true),
    early,
    onStarted: (r) => report(r.ok ? { ok: true } : { ok: false, error: r.error, code: r.code }),
    onRunning: (c) => relay(c, state, server, tty),
  })
    .then((outcome) => {
      server.runEnded(outcome.exitCode); // attach ends at each exit (docker), restart or not
      return outcome;
    })
    .finally(() => {
      server.targets = {};
    });
}

async function relay(c: StartedContainer, state: ContainerState, server: AttachServer, tty: boolean): Promise<void> {
  const log = new LogWriter(logPath(state.id), state.logRotation);
  try {
    if (tty && c.terminal !== undefined) return await relayTerminal(c.terminal, log, server);
    const stdin = c.init.stdin as unknown as { write(d: Uint8Array): void; flush(): void } | undefined;
    if (stdin && typeof stdin.write === "function") {
      server.targets = {
        input: (d) => {
          try {
            stdin.write(d);
            stdin.flush();
          } catch {
            // the container closed its stdin
          }
        },
      };
    }
    await log.pump(c.init.stdout, c.init.stderr, (stream, chunk) => server.send(stream === "stdout" ? Frame.Stdout : Frame.Stderr, chunk));
  } finally {
    log.close();
  }
}

/** The pty master: its output to the log (as stdout) and to clients; clients' keys and window size to it. */
async function relayTerminal(master: number, log: LogWriter, server: AttachServer): Promise<void> {
  setNonBlocking(master);
  server.targets = {
    input: (d) => writeAllSoon(master, d),
    resize: (rows, cols) => {
      try {
        if (rows > 0 && cols > 0) setWindowSize(master, rows, cols);
      } catch {}
    },
  };
  const lines = log.lines("stdout");
  const reader = Bun.file(master).stream().getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      server.send(Frame.Stdout, value);
      lines.push(value);
    }
  } catch (e) {
    // EIO: the last process holding the slave is gone (pty(7)); the end of its output
    if ((e as { code?: string }).code !== "EIO") throw e;
  } finally {
    reader.releaseLock();
    lines.end();
    server.targets = {};
    closeSync(master);
  }
}

/** Writes to the non-blocking master, waiting out EAGAIN (a full input queue) without blocking the loop. */
function writeAllSoon(fd: number, data: Uint8Array): void {
  let off = 0;
  const go = () => {
    while (off < data.length) {
      try {
        off += writeSync(fd, data, off, data.length - off);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "EAGAIN") return void setTimeout(go, 5);
        return; // the master is gone
      }
    }
  };
  go();
}
