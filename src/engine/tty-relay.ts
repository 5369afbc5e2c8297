// The runtime's side of `run -t`: copies bytes between our terminal and the master of the
// container's pty until every process holding the slave is gone, keeps the window size in step,
// and gives the terminal back as it found it.
//
// How it does I/O in Bun 1.4.5 (measured; see test/unit/tty.test.ts):
// - Reads go through `Bun.file(fd).stream()`, which polls the fd with epoll on the JS thread
//   provided the fd is O_NONBLOCK. (On a blocking tty fd Bun takes it for a file and fails with
//   ESPIPE from pread; fs.createReadStream and fs.read work but park a thread-pool thread in a
//   blocking read(2) that cannot be cancelled.) The master is made O_NONBLOCK; a terminal on
//   stdin is reopened through /proc/self/fd with O_NONBLOCK, as Bun does for process.stdin,
//   so the shell's open file description keeps its flags.
// - Writes are fs.writeSync, retried after a short sleep on EAGAIN. Bun.write spins on EAGAIN
//   (thousands of write(2)s a second) and FileSink.write blocks the event loop until it is done.
// - The master reports the end with EIO once the last slave fd is closed, after the data that
//   was still queued; the read stream errors with code "EIO".
import { closeSync, openSync, writeSync } from "node:fs";
import {
  O_CLOEXEC,
  O_NOCTTY,
  O_NONBLOCK,
  eofChar,
  getWindowSize,
  isatty,
  makeRaw,
  setNonBlocking,
  setTermios,
  setWindowSize,
} from "../../ffi/tty";

export interface RelayOptions {
  /**
   * Our input, copied to the master when given (`-i`). A terminal is put in raw mode for the
   * relay's lifetime (keys such as ^C reach the container's tty as bytes); anything else (a
   * pipe, a file) is never touched, and at its end the container's tty gets its EOF byte.
   */
  stdin?: NodeJS.ReadStream | number;
  /** Where the container's output goes (default 1). */
  stdout?: number;
  /** Sees every chunk of the container's output as it comes (the container's log). */
  tap?: (chunk: Uint8Array) => void;
}

export interface TerminalRelay {
  /** Resolves once the master reports the end (EIO: all slave fds closed) and all output is written. */
  done: Promise<void>;
  /** Gives our terminal its settings back. Idempotent; also runs at process 'exit' and at `done`. */
  restore(): void;
}

const O_RDONLY = 0;
const MAX_BACKOFF_MS = 50;

function errorCode(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/** Writes all of `data`, waiting out EAGAIN without holding the event loop. Gives up when `stopped()`. */
async function writeAll(fd: number, data: Uint8Array, stopped: () => boolean): Promise<void> {
  let off = 0;
  let backoff = 1;
  while (off < data.length && !stopped()) {
    try {
      off += writeSync(fd, data, off, data.length - off);
      backoff = 1;
    } catch (e) {
      const code = errorCode(e);
      if (code === "EINTR") continue;
      if (code !== "EAGAIN") throw e;
      await Bun.sleep(backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}

/**
 * Relays between our terminal and the pty `master` (an fd received from the container's init).
 * The master is set O_NONBLOCK and stays the caller's to close after `done`.
 */
export function relayTerminal(master: number, opts: RelayOptions = {}): TerminalRelay {
  const stdoutFd = opts.stdout ?? 1;
  // A ReadStream is used by its fd (process.stdin's type says `fd: 0`), read directly, not through the stream.
  const stdinFd = opts.stdin === undefined ? undefined : typeof opts.stdin === "number" ? opts.stdin : ((opts.stdin as { fd?: number }).fd ?? 0);
  const stdinIsTty = stdinFd !== undefined && isatty(stdinFd);
  let finished = false;
  const stopped = () => finished;

  setNonBlocking(master);

  // Raw mode, undone exactly once on whichever exit path comes first.
  let saved = stdinIsTty ? makeRaw(stdinFd) : undefined;
  const restore = () => {
    process.off("exit", restore);
    if (saved === undefined) return;
    const termios = saved;
    saved = undefined;
    try {
      setTermios(stdinFd!, termios);
    } catch {
      // the terminal is gone (hangup): nothing left to restore
    }
  };
  process.on("exit", restore);

  // Window size: from whichever of our ends is a terminal, now and on every SIGWINCH.
  const sizeFd = isatty(stdoutFd) ? stdoutFd : stdinIsTty ? stdinFd : undefined;
  const syncWindowSize = () => {
    if (sizeFd === undefined || finished) return;
    try {
      const { rows, cols } = getWindowSize(sizeFd);
      if (rows > 0 && cols > 0) setWindowSize(master, rows, cols);
    } catch {
      // our terminal went away, or the master did: nothing to resize
    }
  };
  syncWindowSize();
  if (sizeFd !== undefined) process.on("SIGWINCH", syncWindowSize);

  // master -> stdout. A broken stdout must not stall the container: its output is then dropped.
  const output = async () => {
    const reader = Bun.file(master).stream().getReader();
    let stdoutBroken = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        opts.tap?.(value);
        if (stdoutBroken) continue;
        try {
          await writeAll(stdoutFd, value, () => false);
        } catch {
          stdoutBroken = true;
        }
      }
    } catch (e) {
      if (errorCode(e) !== "EIO") throw e;
    } finally {
      reader.releaseLock();
    }
  };

  // stdin -> master, until our input ends or the relay does.
  let cancelInput = () => {};
  const input = async () => {
    if (stdinFd === undefined) return;
    const own = stdinIsTty ? openSync(`/proc/self/fd/${stdinFd}`, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) : undefined;
    const reader = Bun.file(own ?? stdinFd).stream().getReader();
    cancelInput = () => void reader.cancel().catch(() => {});
    let lastByte = 0x0a;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || finished) break;
        if (value.length === 0) continue;
        await writeAll(master, value, stopped);
        lastByte = value[value.length - 1]!;
      }
      if (!stdinIsTty && !finished) {
        // A piped stdin ended: a canonical-mode reader in the container sees EOF on VEOF at the
        // start of a line; an unterminated last line needs one VEOF to flush it first.
        const eof = eofChar(master);
        if (eof !== undefined) await writeAll(master, Buffer.from(lastByte === 0x0a ? [eof] : [eof, eof]), stopped);
      }
    } catch {
      // stdin failed or the master is gone (EIO): the output side decides when the relay ends
    } finally {
      reader.releaseLock();
      if (own !== undefined) closeSync(own);
    }
  };

  const inputDone = input().catch(() => {}); // e.g. stdin could not be reopened: output still flows
  const done = output().finally(async () => {
    finished = true;
    process.off("SIGWINCH", syncWindowSize);
    cancelInput();
    await inputDone;
    restore();
  });
  return { done, restore };
}
