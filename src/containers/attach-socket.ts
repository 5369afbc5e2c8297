// The way into a detached container's stdio: its monitor serves a unix socket, attach.sock in the
// container's directory, that `mydocker attach` (and `start -a`) connect to. Both directions are
// frames of [kind: 1 byte][length: 4 bytes, big-endian][data]:
//   monitor -> client: 1 stdout, 2 stderr (a tty's output is all stdout), 4 the run's exit status
//                      (i32, big-endian; then the monitor ends the stream, as docker's attach ends
//                      at the container's exit even when a restart policy starts it again)
//   client -> monitor: 0 input (to the pty master or the stdin pipe), 3 window size (rows, cols: u16 each)
// The socket is bound by a path relative to the container's directory (a unix socket path is at
// most 108 bytes, unix(7); a runtime root under /tmp/... with a 64-digit id is near that).
import { rmSync } from "node:fs";
import type { Socket, TCPSocketListener, UnixSocketListener } from "bun";

export const SOCKET_NAME = "attach.sock";

export const enum Frame {
  Input = 0,
  Stdout = 1,
  Stderr = 2,
  Resize = 3,
  Exit = 4,
}

export function frame(kind: Frame, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = kind;
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}

/** Splits a byte stream into frames, whatever the chunk boundaries. */
export function frameReader(onFrame: (kind: Frame, data: Uint8Array) => void): (chunk: Uint8Array) => void {
  let buf = new Uint8Array(0);
  return (chunk) => {
    const joined = new Uint8Array(buf.length + chunk.length);
    joined.set(buf);
    joined.set(chunk, buf.length);
    let off = 0;
    while (joined.length - off >= 5) {
      const len = new DataView(joined.buffer, off + 1, 4).getUint32(0);
      if (joined.length - off - 5 < len) break;
      onFrame(joined[off] as Frame, joined.subarray(off + 5, off + 5 + len));
      off += 5 + len;
    }
    buf = joined.slice(off);
  };
}

export interface AttachTargets {
  /** input from a client */
  input?: (data: Uint8Array) => void;
  resize?: (rows: number, cols: number) => void;
}

/**
 * The monitor's side: accepts clients, sends each the output it is given from then on, and passes
 * their input to the current run's targets (which change at each restart).
 */
export class AttachServer {
  private readonly clients = new Set<Socket<{ read: (c: Uint8Array) => void }>>();
  private listener?: UnixSocketListener<any> | TCPSocketListener<any>;
  targets: AttachTargets = {};

  constructor(private readonly dir: string) {}

  listen(): void {
    const cwd = process.cwd();
    rmSync(`${this.dir}/${SOCKET_NAME}`, { force: true });
    process.chdir(this.dir);
    try {
      this.listener = Bun.listen<{ read: (c: Uint8Array) => void }>({
        unix: SOCKET_NAME,
        socket: {
          open: (s) => {
            s.data = {
              read: frameReader((kind, data) => {
                if (kind === Frame.Input) this.targets.input?.(data);
                else if (kind === Frame.Resize && data.length === 4) {
                  const v = new DataView(data.buffer, data.byteOffset, 4);
                  this.targets.resize?.(v.getUint16(0), v.getUint16(2));
                }
              }),
            };
            this.clients.add(s);
          },
          data: (s, chunk) => s.data.read(chunk),
          close: (s) => void this.clients.delete(s),
          error: (s) => void this.clients.delete(s),
        },
      });
    } finally {
      process.chdir(cwd);
    }
  }

  /** Output of the container, to every client attached now (a slow client may lose some). */
  send(kind: Frame.Stdout | Frame.Stderr, data: Uint8Array): void {
    if (this.clients.size === 0) return;
    const f = frame(kind, data);
    for (const c of this.clients) c.write(f);
  }

  /** One run ended with `code`: each client gets it, then the end of its stream. */
  runEnded(code: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, code);
    const f = frame(Frame.Exit, b);
    for (const c of this.clients) c.write(f);
    this.disconnectAll();
  }

  /** The clients are told by the end of their stream. */
  disconnectAll(): void {
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  close(): void {
    this.disconnectAll();
    this.listener?.stop(true);
    rmSync(`${this.dir}/${SOCKET_NAME}`, { force: true });
  }
}
