// The monitor's side of monitor.sock (the conversation is in monitor-link.ts): a monitor that
// holds monitor.lock serves the starts of the same build and roots, so that twenty detached
// containers cost one Bun process, not twenty. It counts the containers in its hands and, when
// the last one is settled, stops serving at once (unlink, close, unlock, in that order: a start
// that connects meanwhile is refused or reset, and spawns a monitor of its own), and its process
// ends. If it is killed, its containers run on, as with a monitor of their own: the next command
// that finds one exited finishes its teardown (state/live.ts), and the next start takes the lock.
import { closeSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Socket, UnixSocketListener } from "bun";
import { LOCK_EX, tryFlock } from "../../ffi/lock";
import { dup2 } from "../../ffi/tty";
import { runtimeRoot } from "../paths";
import { monitorFingerprint, SHARED_LOCK, SHARED_LOG, SHARED_SOCKET, type MonitorReport, type MonitorRequest } from "./monitor-link";

/** One start in the shared monitor's hands. */
export interface SharedStart {
  request: MonitorRequest;
  /** resolves true at the client's "go", false if it closed first (it gave up: the run failed, or it waited too long for "accepted") */
  go: Promise<boolean>;
  /** tells the client whether the command started, and ends the connection */
  report(r: MonitorReport): void;
}

interface Conn {
  pending: string;
  start?: { resolveGo: (go: boolean) => void };
}

export class SharedMonitor {
  private holds = 0;
  private closing = false;
  private listener?: UnixSocketListener<Conn>;
  private lockFd?: number;
  private readonly fingerprint = monitorFingerprint();

  /** `serve`: supervises one start until its container ends for good; never rejects. */
  constructor(private readonly serve: (start: SharedStart) => Promise<void>) {}

  /**
   * One container in our hands; the function returned gives it back. When none is left we stop
   * serving (and the process ends once its last handle is gone).
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0) this.close();
    };
  }

  /** Serves monitor.sock unless another monitor does (it holds the lock): whether we do. */
  open(): boolean {
    if (this.closing || this.listener) return !!this.listener;
    const root = runtimeRoot();
    const lockFd = openSync(join(root, SHARED_LOCK), "a", 0o600);
    if (!tryFlock(lockFd, LOCK_EX)) {
      closeSync(lockFd);
      return false;
    }
    // the lock is ours: a socket file left there is a dead monitor's
    rmSync(join(root, SHARED_SOCKET), { force: true });
    const cwd = process.cwd();
    process.chdir(root); // bound by a relative name: a sun_path holds 108 bytes (unix(7))
    try {
      this.listener = Bun.listen<Conn>({
        unix: SHARED_SOCKET,
        socket: {
          open: (s) => void (s.data = { pending: "" }),
          data: (s, chunk) => this.received(s, chunk),
          close: (s) => s.data.start?.resolveGo(false),
          error: (s) => s.data.start?.resolveGo(false),
        },
      });
    } catch {
      closeSync(lockFd);
      return false;
    } finally {
      process.chdir(cwd);
    }
    this.lockFd = lockFd;
    // from now on our complaints concern every container we serve: one log beside the records
    const log = openSync(join(root, SHARED_LOG), "a", 0o600);
    dup2(log, 2);
    closeSync(log);
    return true;
  }

  private received(s: Socket<Conn>, chunk: Uint8Array): void {
    s.data.pending += Buffer.from(chunk).toString();
    for (let nl = s.data.pending.indexOf("\n"); nl >= 0; nl = s.data.pending.indexOf("\n")) {
      const line = s.data.pending.slice(0, nl);
      s.data.pending = s.data.pending.slice(nl + 1);
      if (!s.data.start) this.request(s, line);
      else if (line === "go") s.data.start.resolveGo(true);
    }
  }

  /** A start's first line: accepted (and held at once, so that we cannot close under it) or refused. */
  private request(s: Socket<Conn>, line: string): void {
    let request: MonitorRequest | undefined;
    try {
      request = JSON.parse(line) as MonitorRequest;
    } catch {}
    if (this.closing || !request || request.fingerprint !== this.fingerprint || typeof request.id !== "string") {
      s.write(JSON.stringify({ accepted: false }) + "\n");
      s.end();
      return;
    }
    const release = this.hold();
    let resolveGo!: (go: boolean) => void;
    const go = new Promise<boolean>((r) => (resolveGo = r));
    s.data.start = { resolveGo };
    s.write(JSON.stringify({ accepted: true }) + "\n");
    let reported = false;
    const report = (r: MonitorReport) => {
      if (reported) return;
      reported = true;
      s.write(JSON.stringify(r) + "\n");
      s.end();
    };
    this.serve({ request, go, report }).finally(() => {
      if (!reported) s.end(); // no report: the client ends what it started
      release();
    });
  }

  private close(): void {
    if (this.closing) return;
    this.closing = true;
    if (!this.listener) return;
    rmSync(join(runtimeRoot(), SHARED_SOCKET), { force: true });
    this.listener.stop(true);
    closeSync(this.lockFd!);
  }
}
