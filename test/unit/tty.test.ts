// Pseudo-terminals, fd passing and the terminal relay against the real kernel (root, no mocks).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recvMessage, sendFd, socketPair } from "../../ffi/socket";
import {
  close,
  eofChar,
  getWindowSize,
  isatty,
  openPtyMaster,
  openPtyPeer,
  ptyNumber,
  ptySlavePath,
  setNonBlocking,
  setWindowSize,
} from "../../ffi/tty";
import { relayTerminal } from "../../src/engine/tty-relay";

const FFI = join(import.meta.dir, "../../ffi");
const RELAY = join(import.meta.dir, "../../src/engine/tty-relay.ts");
let dir: string;
let fdsAtStart: string[];

/** Our open fds, as "fd -> target"; Bun's own epoll/eventfd (spawnSync makes some lazily) left out. */
const openFds = () =>
  readdirSync("/proc/self/fd")
    .map((fd) => {
      try {
        return `${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`;
      } catch {
        return ""; // the directory's own fd, closed by now
      }
    })
    .filter((l) => l && !l.includes("anon_inode:"))
    .sort();
const isCloexec = (fd: number) => (parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1]!, 8) & 0o2000000) !== 0;

/** Everything the master gives until EIO (the slave side is all closed). */
async function drain(master: number): Promise<string> {
  setNonBlocking(master);
  let out = "";
  try {
    for await (const chunk of Bun.file(master).stream()) out += Buffer.from(chunk).toString();
  } catch (e) {
    if ((e as { code?: string }).code !== "EIO") throw e;
  }
  return out;
}

/** Resolves once `get()` contains `what` (the relay writes asynchronously). */
async function waitFor(get: () => string, what: string, ms = 3000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const s = get();
    if (s.includes(what)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${JSON.stringify(what)} in ${JSON.stringify(s)}`);
    await Bun.sleep(10);
  }
}

beforeAll(() => {
  fdsAtStart = openFds();
  dir = mkdtempSync(join(tmpdir(), "mydocker-tty-"));
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await Bun.sleep(50); // Bun closes the dups behind its fd streams a moment after they end
  expect(openFds()).toEqual(fdsAtStart);
});

describe("ffi/socket: fds over AF_UNIX (SCM_RIGHTS)", () => {
  test("a socketpair carries an open file; the received fd reads it and is close-on-exec", () => {
    const file = join(dir, "passed");
    writeFileSync(file, "contents of the passed file");
    const [a, b] = socketPair();
    const fd = openSync(file, "r");
    try {
      sendFd(a, fd, Buffer.from("pty"));
      const msg = recvMessage(b);
      expect(msg.data.toString()).toBe("pty");
      expect(msg.fd).toBeNumber();
      expect(msg.fd).not.toBe(fd);
      expect(isCloexec(msg.fd!)).toBe(true);
      expect(readlinkSync(`/proc/self/fd/${msg.fd}`)).toBe(file);
      const buf = Buffer.alloc(64);
      expect(buf.subarray(0, readSync(msg.fd!, buf, 0, 64, 0)).toString()).toBe("contents of the passed file");
      close(msg.fd!);
      // plain data comes without an fd; a closed peer reads as EOF
      sendFd(a, fd, Buffer.from("x"));
      close(recvMessage(b).fd!);
      close(a);
      expect(recvMessage(b)).toEqual({ data: Buffer.alloc(0) });
    } finally {
      close(fd);
      close(b);
    }
  });

  test("an empty payload is refused (a stream socket would drop the fd)", () => {
    const [a, b] = socketPair();
    try {
      expect(() => sendFd(a, 0, Buffer.alloc(0))).toThrow("payload");
    } finally {
      close(a);
      close(b);
    }
  });

  test("sendmsg to a closed peer fails with EPIPE, not SIGPIPE", () => {
    const [a, b] = socketPair();
    close(b);
    try {
      expect(() => sendFd(a, 0, Buffer.from("x"))).toThrow("sendmsg: EPIPE");
    } finally {
      close(a);
    }
  });

  test("from a child over Bun.spawn's stdio[3] socket; EOF once the child is gone", async () => {
    const file = join(dir, "from-child");
    writeFileSync(file, "child's file");
    const child = Bun.spawn(
      [process.execPath, "-e", `import { sendFd } from "${FFI}/socket.ts"; import { openSync } from "node:fs"; sendFd(3, openSync(${JSON.stringify(file)}, "r"), Buffer.from("here"));`],
      { stdio: ["ignore", "inherit", "inherit", "pipe"] },
    );
    const sock = child.stdio[3] as number;
    try {
      const msg = recvMessage(sock);
      expect(msg.data.toString()).toBe("here");
      expect(readFileSync(`/proc/self/fd/${msg.fd}`, "utf8")).toBe("child's file");
      close(msg.fd!);
      expect(await child.exited).toBe(0);
      expect(recvMessage(sock).data.length).toBe(0);
    } finally {
      close(sock);
    }
  });
});

describe("ffi/tty: pty pairs", () => {
  test("/dev/ptmx master and its peer: slave writes arrive on the master; numbers agree", () => {
    const master = openPtyMaster("/dev/ptmx");
    const slave = openPtyPeer(master);
    try {
      const n = ptyNumber(master);
      expect(readlinkSync(`/proc/self/fd/${slave}`)).toBe(`/dev/pts/${n}`);
      expect(ptySlavePath(master)).toBe(`/dev/pts/${n}`);
      expect(isCloexec(master)).toBe(true);
      expect(isCloexec(slave)).toBe(true);
      expect(isatty(master)).toBe(true);
      expect(isatty(slave)).toBe(true);
      writeSync(slave, "hello\n");
      const buf = Buffer.alloc(64);
      let got = "";
      for (let i = 0; i < 20 && !got.endsWith("\n"); i++) got += buf.subarray(0, readSync(master, buf)).toString(); // a slow machine may deliver it in pieces
      expect(got).toBe("hello\r\n"); // ONLCR
      writeSync(master, "typed\r");
      expect(buf.subarray(0, readSync(slave, buf)).toString()).toBe("typed\n"); // ICRNL, canonical
    } finally {
      close(slave);
      close(master);
    }
  });

  test("/dev/pts/ptmx (the devpts instance's own ptmx) works the same", () => {
    const master = openPtyMaster();
    try {
      expect(readlinkSync(`/proc/self/fd/${master}`)).toBe("/dev/pts/ptmx");
      const slave = openPtyPeer(master);
      expect(readlinkSync(`/proc/self/fd/${slave}`)).toBe(ptySlavePath(master));
      close(slave);
    } finally {
      close(master);
    }
  });

  test("window size round-trips, on the slave and through the master", () => {
    const master = openPtyMaster("/dev/ptmx");
    const slave = openPtyPeer(master);
    try {
      setWindowSize(slave, 37, 123);
      expect(getWindowSize(slave)).toEqual({ rows: 37, cols: 123 });
      expect(getWindowSize(master)).toEqual({ rows: 37, cols: 123 });
      setWindowSize(master, 12, 34);
      expect(getWindowSize(slave)).toEqual({ rows: 12, cols: 34 });
    } finally {
      close(slave);
      close(master);
    }
  });

  test("errors name the request: a regular file is not a tty", () => {
    const fd = openSync(join(dir, "plain"), "w");
    try {
      expect(isatty(fd)).toBe(false);
      expect(() => getWindowSize(fd)).toThrow("ioctl TIOCGWINSZ: ENOTTY");
      expect(() => ptyNumber(fd)).toThrow("ioctl TIOCGPTN: ENOTTY");
      expect(() => openPtyMaster(join(dir, "nope"))).toThrow(`open ${join(dir, "nope")}: ENOENT`);
    } finally {
      closeSync(fd);
    }
  });

  test("a child on the slave sees the size set and its /dev/pts/N; the master then reports EIO", async () => {
    const master = openPtyMaster("/dev/ptmx");
    const slave = openPtyPeer(master);
    setWindowSize(slave, 33, 101);
    const child = Bun.spawn(["sh", "-c", "stty size; tty"], { stdio: [slave, slave, slave] });
    close(slave);
    try {
      expect(await drain(master)).toBe(`33 101\r\n/dev/pts/${ptyNumber(master)}\r\n`);
      expect(await child.exited).toBe(0);
    } finally {
      close(master);
    }
  });

  test("the master reads the slave's EOF byte only in canonical mode", () => {
    const master = openPtyMaster("/dev/ptmx");
    const slave = openPtyPeer(master);
    try {
      expect(eofChar(master)).toBe(4); // ^D
      Bun.spawnSync(["stty", "raw"], { stdin: slave });
      expect(eofChar(master)).toBeUndefined();
    } finally {
      close(slave);
      close(master);
    }
  });
});

describe("relayTerminal", () => {
  test("relays all output to a file and ends when the child exits (EIO)", async () => {
    const master = openPtyMaster("/dev/ptmx");
    const slave = openPtyPeer(master);
    const outFile = join(dir, "out");
    const out = openSync(outFile, "w");
    const child = Bun.spawn(["sh", "-c", "echo start; seq 1 20000; echo END"], { stdio: [slave, slave, slave] });
    close(slave);
    try {
      const relay = relayTerminal(master, { stdout: out });
      await relay.done;
      const text = readFileSync(outFile, "utf8");
      const seq = Array.from({ length: 20000 }, (_, i) => `${i + 1}\r\n`).join("");
      expect(text).toBe(`start\r\n${seq}END\r\n`);
      expect(await child.exited).toBe(0);
    } finally {
      closeSync(out);
      close(master);
    }
  });

  test("the init's protocol: master over fd 3, setsid + TIOCSCTTY + execve; piped ^C is SIGINT", async () => {
    // The child plays the container's init: its own pty, the master sent to us, the slave as
    // its controlling terminal and stdio, then execve of the command.
    const init = `
      import { sendFd } from "${FFI}/socket.ts";
      import { openPtyMaster, openPtyPeer, close, dup2, setsid, setControllingTerminal } from "${FFI}/tty.ts";
      import { execve } from "${FFI}/process.ts";
      const master = openPtyMaster("/dev/ptmx");
      const slave = openPtyPeer(master);
      sendFd(3, master, Buffer.from("pty"));
      close(master);
      close(3);
      setsid();
      setControllingTerminal(slave);
      for (const fd of [0, 1, 2]) dup2(slave, fd);
      close(slave);
      execve("/bin/sh", ["sh", "-c", 'trap "echo GOT-INT; exit 3" INT; echo READY $(tty); while :; do sleep 0.1; done'], ["PATH=/usr/bin:/bin"]);
    `;
    const child = Bun.spawn([process.execPath, "-e", init], { stdio: ["ignore", "inherit", "inherit", "pipe"] });
    const sock = child.stdio[3] as number;
    const msg = recvMessage(sock);
    close(sock);
    expect(msg.data.toString()).toBe("pty");
    const master = msg.fd!;
    const outFile = join(dir, "init-out");
    const out = openSync(outFile, "w");
    const [inR, inW] = pipeFds();
    try {
      const relay = relayTerminal(master, { stdin: inR, stdout: out });
      const ready = await waitFor(() => readFileSync(outFile, "utf8"), "READY");
      expect(ready).toMatch(/^READY \/dev\/pts\/\d+\r\n/);
      writeSync(inW, "\x03");
      await relay.done;
      expect(readFileSync(outFile, "utf8")).toContain("GOT-INT\r\n");
      expect(await child.exited).toBe(3);
    } finally {
      closeSync(out);
      closeSync(inW);
      closeSync(inR);
      close(master);
    }
  });

  test("a terminal on stdin: raw mode while relaying and back after, window size followed on SIGWINCH", async () => {
    // "Our" terminal is another pty: we type on its master, the relay reads its slave.
    const termMaster = openPtyMaster("/dev/ptmx");
    const term = openPtyPeer(termMaster);
    setWindowSize(term, 30, 100);
    const master = openPtyMaster("/dev/ptmx");
    const slave = openPtyPeer(master);
    const child = Bun.spawn(
      // The relay gives the pty its size; a slow machine (the emulated CPUs of `make test-vm`) may
      // run this shell first, so it waits for a size before reporting it.
      ["setsid", "-c", "sh", "-c", 'trap "stty size" WINCH; trap "echo GOT-INT; exit 3" INT; until stty size 2>/dev/null | grep -qv "^0 0$"; do sleep 0.05; done; stty size; echo READY; while :; do sleep 0.1; done'],
      { stdio: [slave, slave, slave] },
    );
    close(slave);
    let seen = "";
    const screen = (async () => {
      try {
        await (async () => {
          setNonBlocking(termMaster);
          for await (const chunk of Bun.file(termMaster).stream()) seen += Buffer.from(chunk).toString();
        })();
      } catch {
        // EIO once `term` is closed
      }
    })();
    try {
      expect(eofChar(term)).toBe(4); // canonical before
      const relay = relayTerminal(master, { stdin: term, stdout: term });
      expect(eofChar(term)).toBeUndefined(); // raw while relaying
      expect(getWindowSize(master)).toEqual({ rows: 30, cols: 100 });
      await waitFor(() => seen, "30 100\r\nREADY\r\n");

      setWindowSize(term, 40, 120); // our terminal was resized...
      process.kill(process.pid, "SIGWINCH"); // ...and we were told so
      await waitFor(() => seen, "40 120\r\n");
      expect(getWindowSize(master)).toEqual({ rows: 40, cols: 120 });

      writeSync(termMaster, "\x03"); // raw: a byte for the container, not a signal for us
      await relay.done;
      await waitFor(() => seen, "GOT-INT\r\n"); // on its way from `term` to our screen reader
      expect(await child.exited).toBe(3);
      expect(eofChar(term)).toBe(4); // restored
      relay.restore(); // idempotent
      expect(eofChar(term)).toBe(4);
    } finally {
      close(master);
      close(term);
      await screen;
      close(termMaster);
    }
  });

  for (const [how, ending] of [
    ["process.exit()", "process.exit(7)"],
    ["an uncaught exception", "throw new Error('boom')"],
  ] as const) {
    test(`the terminal is restored when the process ends by ${how} mid-relay`, async () => {
      const termMaster = openPtyMaster("/dev/ptmx");
      const term = openPtyPeer(termMaster);
      const script = `
        import { openPtyMaster, eofChar } from "${FFI}/tty.ts";
        import { relayTerminal } from "${RELAY}";
        relayTerminal(openPtyMaster("/dev/ptmx"), { stdin: process.stdin, stdout: 2 });
        console.log(eofChar(0) === undefined ? "raw" : "cooked");
        setTimeout(() => { ${ending}; }, 20);
      `;
      const child = Bun.spawn([process.execPath, "-e", script], { stdio: [term, "pipe", "ignore"] });
      try {
        expect((await new Response(child.stdout).text()).trim()).toBe("raw");
        expect(await child.exited).toBe(how === "process.exit()" ? 7 : 1);
        expect(eofChar(term)).toBe(4);
      } finally {
        close(term);
        close(termMaster);
      }
    });
  }

  test("a piped stdin that ends gives the container's reader its EOF", async () => {
    const master = openPtyMaster("/dev/ptmx");
    const slave = openPtyPeer(master);
    const outFile = join(dir, "cat-out");
    const out = openSync(outFile, "w");
    const child = Bun.spawn(["sh", "-c", "stty -echo; echo ready; wc -l; echo bye"], { stdio: [slave, slave, slave] });
    close(slave);
    const [inR, inW] = pipeFds();
    try {
      const relay = relayTerminal(master, { stdin: inR, stdout: out });
      await waitFor(() => readFileSync(outFile, "utf8"), "ready"); // -echo is in place
      writeSync(inW, "one\ntwo\nthree"); // the last line unterminated
      closeSync(inW);
      await relay.done;
      expect(readFileSync(outFile, "utf8").replace(/\s+/g, " ").trim()).toBe("ready 2 bye");
      expect(await child.exited).toBe(0);
    } finally {
      closeSync(out);
      closeSync(inR);
      close(master);
    }
  });
});

/** A pipe (node has no pipe(2)): a FIFO opened at both ends, then unlinked. */
function pipeFds(): [number, number] {
  const fifo = join(dir, `fifo-${Math.random().toString(36).slice(2)}`);
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  const r = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // does not wait for a writer
  const w = openSync(fifo, "w");
  setNonBlocking(r, false);
  rmSync(fifo);
  return [r, w];
}
