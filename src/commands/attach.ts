// `mydocker attach [--detach-keys KEYS] [--no-stdin] [--sig-proxy=false] CONTAINER`: our terminal
// to a detached container's output and (with -t or -i) its input, through its monitor's
// attach.sock (src/containers/attach-socket.ts). The detach keys (ctrl-p,ctrl-q by default) leave
// it running; otherwise we stay until it ends and exit with its status.
import { closeSync, openSync, writeSync } from "node:fs";
import { defineCommand } from "citty";
import { FlagError, UsageError } from "../cli/argv";
import { Frame, frame, frameReader, SOCKET_NAME } from "../containers/attach-socket";
import { findLive, waitFor } from "../state/live";
import { signalProcess } from "../state/proc";
import { containerDir, readConfig, readState, type ContainerState } from "../state/store";
import { getWindowSize, isatty, makeRaw, O_CLOEXEC, O_NOCTTY, O_NONBLOCK, setTermios } from "../../ffi/tty";
import { parseCommand } from "./args";

const args = {
  "detach-keys": { type: "string", valueHint: "ctrl-p,ctrl-q", description: "Key sequence that detaches, leaving the container running" },
  "no-stdin": { type: "boolean", description: "Do not attach stdin" },
  "sig-proxy": { type: "boolean", description: "Pass the signals we receive to the container (default true; not with a tty)" },
} as const;

export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

/** docker's --detach-keys: comma-separated `ctrl-<a-z @ [ \ ] ^ _>` or single characters -> bytes. */
export function parseDetachKeys(text: string): number[] {
  const bad = () => new FlagError(`invalid --detach-keys "${text}": expected keys such as ctrl-p,ctrl-q or a single character each`);
  if (text === "") throw bad();
  return text.split(",").map((key) => {
    const ctrl = /^ctrl-(.)$/i.exec(key);
    if (ctrl) {
      const c = ctrl[1]!;
      if (/[a-z]/i.test(c)) return c.toLowerCase().charCodeAt(0) - 0x60;
      const special = "@[\\]^_".indexOf(c);
      if (special >= 0) return special === 0 ? 0 : 26 + special;
      throw bad();
    }
    if (key.length === 1) return key.charCodeAt(0);
    throw bad();
  });
}

/**
 * Watches input for the detach sequence. Returns the bytes to pass on (a partial match is held
 * back until it is known not to be the sequence) and whether the sequence was completed.
 */
export function detachScanner(keys: number[]): (chunk: Uint8Array) => { pass: Uint8Array; detach: boolean } {
  let held: number[] = [];
  return (chunk) => {
    const pass: number[] = [];
    for (const b of chunk) {
      if (b === keys[held.length]) {
        held.push(b);
        if (held.length === keys.length) return { pass: Uint8Array.from(pass), detach: true };
        continue;
      }
      pass.push(...held);
      held = [];
      if (b === keys[0]) held.push(b);
      else pass.push(b);
    }
    return { pass: Uint8Array.from(pass), detach: false };
  };
}

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

export default defineCommand({
  meta: { name: "attach", description: "Attach to a running container's output and input" },
  args: { ...args, container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("attach", rawArgs, args, 1, "CONTAINER");
    const keys = parseDetachKeys((options["detach-keys"] as string | undefined) ?? DEFAULT_DETACH_KEYS);
    const ref = positionals[0]!;
    const s = findLive(ref);
    if (s.restarting) throw new UsageError("You cannot attach to a restarting container, wait until it is running");
    if (s.status !== "running" && s.status !== "paused") throw new UsageError("You cannot attach to a stopped container, start it first");
    if (!s.detached) throw new UsageError(`container ${ref} is attached to the terminal of the \`run\` that started it`);
    const tty = readConfig(s.id).process.terminal === true;
    // docker: input only to a container whose stdin was kept open (-i), with or without a tty
    const withStdin = options["no-stdin"] !== true && s.openStdin === true;
    process.exitCode = await attach(s, { tty, withStdin, keys, sigProxy: !tty && options["sig-proxy"] !== false });
  },
});

interface AttachOptions {
  tty: boolean;
  withStdin: boolean;
  keys: number[];
  sigProxy: boolean;
}

/** Attached until the container ends (its exit status) or the detach keys (0). */
async function attach(s: ContainerState, o: AttachOptions): Promise<number> {
  let detached = false;
  let closed!: () => void;
  const ended = new Promise<void>((resolve) => (closed = resolve));
  let exitCode: number | undefined; // the monitor's word for the run we were attached to
  const read = frameReader((kind, data) => {
    if (kind === Frame.Exit) exitCode = data.length === 4 ? new DataView(data.buffer, data.byteOffset, 4).getInt32(0) : undefined;
    else writeFully(kind === Frame.Stderr ? 2 : 1, data);
  });
  // bound by a relative path: see attach-socket.ts
  const cwd = process.cwd();
  process.chdir(containerDir(s.id));
  let socket: Awaited<ReturnType<typeof Bun.connect>>;
  try {
    socket = await Bun.connect({
      unix: SOCKET_NAME,
      socket: { data: (_s, chunk) => read(chunk), close: () => closed(), error: () => closed(), end: () => closed() },
    });
  } catch (e) {
    throw new UsageError(`cannot attach to container ${s.name}: its monitor does not answer (${(e as Error).message})`);
  } finally {
    process.chdir(cwd);
  }
  const send = (kind: Frame, data: Uint8Array) => socket.write(frame(kind, data));

  const signals = o.sigProxy ? FORWARDED.map((sig) => [sig, () => void signalProcess(s.pid, s.pidStartTime, sig)] as const) : [];
  for (const [sig, fn] of signals) process.on(sig, fn);
  const resize = () => {
    for (const fd of [1, 0]) {
      if (!isatty(fd)) continue;
      try {
        const { rows, cols } = getWindowSize(fd);
        const b = new Uint8Array(4);
        new DataView(b.buffer).setUint16(0, rows);
        new DataView(b.buffer).setUint16(2, cols);
        send(Frame.Resize, b);
      } catch {}
      return;
    }
  };
  if (o.tty) {
    resize();
    process.on("SIGWINCH", resize);
  }

  // our input: raw mode on a terminal (the keys go to the container's tty as bytes)
  const stdinTty = o.withStdin && isatty(0);
  const saved = stdinTty ? makeRaw(0) : undefined;
  const restore = () => {
    if (saved) try { setTermios(0, saved); } catch {}
  };
  process.on("exit", restore);
  let stopInput = () => {};
  const input = (async () => {
    if (!o.withStdin) return;
    const own = stdinTty ? openSync("/proc/self/fd/0", O_NOCTTY | O_NONBLOCK | O_CLOEXEC) : undefined;
    const reader = Bun.file(own ?? 0).stream().getReader();
    stopInput = () => void reader.cancel().catch(() => {});
    const scan = detachScanner(o.keys);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const { pass, detach } = scan(value);
        if (pass.length) send(Frame.Input, pass);
        if (detach) {
          detached = true;
          socket.end();
          closed();
          break;
        }
      }
    } catch {
      // our input is gone: output still flows until the container ends
    } finally {
      reader.releaseLock();
      if (own !== undefined) closeSync(own);
    }
  })();

  await ended;
  stopInput();
  await Promise.race([input, Bun.sleep(100)]);
  restore();
  process.off("SIGWINCH", resize);
  for (const [sig, fn] of signals) process.off(sig, fn);
  if (detached) {
    process.stderr.write(`${o.tty ? "\r\n" : ""}read escape sequence\n`); // docker's words, rc 0
    return 0;
  }
  if (exitCode !== undefined) return exitCode;
  // the container ended (a monitor that sent no status): its status, once recorded
  await waitFor(s.id, (now) => !now || now.status === "exited", 5_000);
  const now = readState(s.id);
  return now?.status === "exited" && typeof now.exitCode === "number" ? now.exitCode : 0;
}

/** Writes all of `data` to fd, waiting out EAGAIN (a non-blocking pipe or tty that is full). */
function writeFully(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "EAGAIN" || code === "EINTR") Bun.sleepSync(1);
      else return; // our output is gone
    }
  }
}
