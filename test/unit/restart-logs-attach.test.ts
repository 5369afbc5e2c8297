// The pure parts of restart policies, log rotation, logs' time forms and attach's detach keys and
// frames; the log writer and follower on real files.
import { describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIRST_BACKOFF_MS, nextBackoff, parseRestartPolicy, shouldRestart } from "../../src/containers/restart";
import { LogFollower, logFiles, LogWriter, openLogChain, parseLogOpts, readLogEntries, readLogFd } from "../../src/containers/logs";
import { cancelsRestart } from "../../src/commands/stop";
import type { ContainerState } from "../../src/state/store";
import { parseLogTime } from "../../src/commands/logs";
import { detachScanner, parseDetachKeys } from "../../src/commands/attach";
import { Frame, frame, frameReader } from "../../src/containers/attach-socket";

describe("restart policy", () => {
  test("parses docker's forms", () => {
    expect(parseRestartPolicy("no")).toEqual({ name: "no", maximumRetryCount: 0 });
    expect(parseRestartPolicy("always")).toEqual({ name: "always", maximumRetryCount: 0 });
    expect(parseRestartPolicy("unless-stopped")).toEqual({ name: "unless-stopped", maximumRetryCount: 0 });
    expect(parseRestartPolicy("on-failure")).toEqual({ name: "on-failure", maximumRetryCount: 0 });
    expect(parseRestartPolicy("on-failure:5")).toEqual({ name: "on-failure", maximumRetryCount: 5 });
    for (const bad of ["", "never", "on-failure:-1", "on-failure:x", "always:1", "on-failure:1:2"]) expect(() => parseRestartPolicy(bad)).toThrow(/invalid --restart/);
  });

  test("decides as docker: on-failure counts, always ignores the status, a user's stop wins", () => {
    const p = (text: string, restartCount = 0, stoppedByUser = false) => ({ restartPolicy: parseRestartPolicy(text), restartCount, stoppedByUser });
    expect(shouldRestart(p("no"), 1)).toBe(false);
    expect(shouldRestart(p("always"), 0)).toBe(true);
    expect(shouldRestart(p("unless-stopped"), 0)).toBe(true);
    expect(shouldRestart(p("always", 0, true), 1)).toBe(false);
    expect(shouldRestart(p("on-failure"), 0)).toBe(false);
    expect(shouldRestart(p("on-failure", 99), 1)).toBe(true);
    expect(shouldRestart(p("on-failure:3", 2), 1)).toBe(true);
    expect(shouldRestart(p("on-failure:3", 3), 1)).toBe(false);
  });

  test("backoff doubles from 100 ms, is capped at a minute, and resets after a 10 s run", () => {
    let d = FIRST_BACKOFF_MS / 2;
    const seen = [1, 2, 3, 4].map(() => (d = nextBackoff(d, 50)));
    expect(seen).toEqual([100, 200, 400, 800]);
    expect(nextBackoff(800, 10_000)).toBe(100);
    expect(nextBackoff(60_000, 1)).toBe(60_000);
  });
});

describe("log options and rotation", () => {
  test("--log-opt parses sizes and counts, repeated or comma-separated", () => {
    expect(parseLogOpts([])).toBeUndefined();
    expect(parseLogOpts(["max-size=10m", "max-file=3"])).toEqual({ maxSize: 10 * 1024 ** 2, maxFile: 3 });
    expect(parseLogOpts(["max-size=1k,max-file=2"])).toEqual({ maxSize: 1024, maxFile: 2 });
    expect(parseLogOpts(["max-size=1k"])).toEqual({ maxSize: 1024, maxFile: 1 });
    expect(() => parseLogOpts(["max-file=2"])).toThrow(/requires max-size/);
    expect(() => parseLogOpts(["mode=non-blocking"])).toThrow(/unknown log opt 'mode'/);
  });

  test("the writer rotates at max-size; the follower reads across the rotation without a gap or a repeat", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mydocker-logs-"));
    try {
      const path = join(dir, "container.log");
      const writer = new LogWriter(path, { maxSize: 300, maxFile: 3 });
      const follower = new LogFollower(path);
      const lines = writer.lines("stdout");
      const followed: string[] = [];
      for (let i = 1; i <= 40; i++) {
        lines.push(Buffer.from(`line-${i}\n`));
        if (i % 3 === 0) followed.push(...follower.read().map((e) => e.log));
      }
      lines.end();
      followed.push(...follower.read().map((e) => e.log));
      writer.close();
      follower.close();
      expect(followed).toEqual(Array.from({ length: 40 }, (_, i) => `line-${i + 1}\n`));
      expect(readdirSync(dir).sort()).toEqual(["container.log", "container.log.1", "container.log.2"]);
      const kept = logFiles(path).flatMap((f) => readLogEntries(f).entries.map((e) => e.log));
      expect(kept.at(-1)).toBe("line-40\n");
      const first = Number(/\d+/.exec(kept[0]!)![0]);
      expect(kept).toEqual(Array.from({ length: 41 - first }, (_, i) => `line-${first + i}\n`));
      expect(JSON.parse(readFileSync(path, "utf8").split("\n")[0]!).stream).toBe("stdout");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("log reading across fast rotation", () => {
  const withLog = (fn: (path: string, writer: LogWriter, push: (from: number, to: number) => void) => void) => {
    const dir = mkdtempSync(join(tmpdir(), "mydocker-logs-"));
    try {
      const path = join(dir, "container.log");
      const writer = new LogWriter(path, { maxSize: 200, maxFile: 8 });
      const lines = writer.lines("stdout");
      fn(path, writer, (from, to) => {
        for (let i = from; i <= to; i++) lines.push(Buffer.from(`line-${i}\n`));
      });
      writer.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const expected = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line-${from + i}\n`);

  test("the follower reads every file rotated between two reads, in order (several rotations per read)", () => {
    withLog((path, _w, push) => {
      const follower = new LogFollower(path);
      const followed: string[] = [];
      for (let i = 0; i < 10; i++) {
        push(i * 12 + 1, i * 12 + 12); // about four rotations
        followed.push(...follower.read().map((e) => e.log));
      }
      follower.close();
      expect(followed).toEqual(expected(1, 120));
    });
  });

  test("a set opened before rotations is read whole, once, in order", () => {
    withLog((path, _w, push) => {
      push(1, 20);
      const chain = openLogChain(path);
      push(21, 60); // rotations after the set was opened change nothing in it
      const read = chain.flatMap((f) => readLogFd(f.fd, 0).entries.map((e) => e.log));
      chain.forEach((f) => closeSync(f.fd));
      // what the set held then (and the current file's lines until it was rotated away): consecutive, once
      const first = Number(/\d+/.exec(read[0]!)![0]);
      expect(read.length).toBeGreaterThanOrEqual(21 - first);
      expect(read).toEqual(expected(first, first + read.length - 1));
    });
  });
});

describe("which kills end a restart policy (docker's daemon/kill.go)", () => {
  const s = (stopSignal?: string) => ({ stopSignal }) as ContainerState;
  test("without a stop signal of its own, any signal, by name or number; with one, only it or SIGKILL", () => {
    for (const sig of ["SIGTERM", 15, "SIGUSR1", 9] as const) expect(cancelsRestart(s(), sig)).toBe(true);
    expect(cancelsRestart(s("SIGUSR1"), 10)).toBe(true);
    expect(cancelsRestart(s("SIGUSR1"), "SIGKILL")).toBe(true);
    expect(cancelsRestart(s("SIGUSR1"), 15)).toBe(false);
  });
});

describe("logs --since/--until", () => {
  const now = Date.parse("2026-11-30T12:00:00Z");
  test("RFC 3339, Unix seconds and Go durations", () => {
    expect(parseLogTime("2026-11-30T11:00:00Z", "--since", now)).toBe(Date.parse("2026-11-30T11:00:00Z"));
    expect(parseLogTime("2026-11-30T11:00:00+01:00", "--since", now)).toBe(Date.parse("2026-11-30T10:00:00Z"));
    expect(parseLogTime("2026-11-30T11:00:00", "--since", now)).toBe(Date.parse("2026-11-30T11:00:00Z"));
    expect(parseLogTime("2026-11-30", "--since", now)).toBe(Date.parse("2026-11-30T00:00:00Z"));
    expect(parseLogTime("1700000000", "--since", now)).toBe(1_700_000_000_000);
    expect(parseLogTime("1700000000.5", "--since", now)).toBe(1_700_000_000_500);
    expect(parseLogTime("10m", "--since", now)).toBe(now - 600_000);
    expect(parseLogTime("1h30m", "--since", now)).toBe(now - 5_400_000);
    expect(parseLogTime("1.5s", "--until", now)).toBe(now - 1500);
    for (const bad of ["", "yesterday", "10d", "2026-13-45T00:00:00Z"]) expect(() => parseLogTime(bad, "--since", now)).toThrow(/invalid --since/);
  });
});

describe("attach", () => {
  test("detach keys: docker's forms", () => {
    expect(parseDetachKeys("ctrl-p,ctrl-q")).toEqual([0x10, 0x11]);
    expect(parseDetachKeys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_")).toEqual([0, 27, 28, 29, 30, 31]);
    expect(parseDetachKeys("a,ctrl-A")).toEqual([0x61, 1]);
    for (const bad of ["", "ctrl-", "ctrl-pq", "ab", "ctrl-1"]) expect(() => parseDetachKeys(bad)).toThrow(/invalid --detach-keys/);
  });

  test("the scanner holds back a partial sequence and passes it on when it is not completed", () => {
    const scan = detachScanner([0x10, 0x11]);
    expect(scan(Uint8Array.from([0x61, 0x10]))).toEqual({ pass: Uint8Array.from([0x61]), detach: false });
    expect(scan(Uint8Array.from([0x62]))).toEqual({ pass: Uint8Array.from([0x10, 0x62]), detach: false });
    expect(scan(Uint8Array.from([0x10, 0x10]))).toEqual({ pass: Uint8Array.from([0x10]), detach: false });
    expect(scan(Uint8Array.from([0x11, 0x63]))).toEqual({ pass: Uint8Array.from([]), detach: true });
  });

  test("frames survive any split of the byte stream", () => {
    const bytes = Buffer.concat([frame(Frame.Stdout, Buffer.from("hello")), frame(Frame.Stderr, Buffer.from("")), frame(Frame.Input, Buffer.from("x".repeat(300)))]);
    for (const cut of [1, 3, 5, 7, 64]) {
      const got: [Frame, string][] = [];
      const read = frameReader((k, d) => got.push([k, Buffer.from(d).toString()]));
      for (let i = 0; i < bytes.length; i += cut) read(bytes.subarray(i, i + cut));
      expect(got).toEqual([[Frame.Stdout, "hello"], [Frame.Stderr, ""], [Frame.Input, "x".repeat(300)]]);
    }
  });
});
