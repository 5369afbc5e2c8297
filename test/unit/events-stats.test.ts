// The events log (emit, rotation, the line's shape), events' time and filter parsing, stats'
// cgroup file parsers and sizes, and history's rows from an image config.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emit, eventLine, eventsPath, rotatedEventsPath, type EventMessage } from "../../src/events";
import { eventText, matches, parseEventTime, parseFilters } from "../../src/commands/events";
import { parseBlkioV1, parseIoStatV2, parseNetDev } from "../../src/commands/stats";
import { bytesSize } from "../../src/format";
import { historyOf } from "../../src/commands/history";

// the events log goes under $MYDOCKER_ROOT (setRoots would stay set for the other test files)
const root = mkdtempSync(join(tmpdir(), "mydocker-events-unit-"));
const saved = process.env.MYDOCKER_ROOT;
process.env.MYDOCKER_ROOT = root;
afterAll(() => {
  if (saved === undefined) delete process.env.MYDOCKER_ROOT;
  else process.env.MYDOCKER_ROOT = saved;
  rmSync(root, { recursive: true, force: true });
});

describe("events log", () => {
  test("a line is docker's message, with timeNano exact to the digit", () => {
    const line = eventLine("container", "start", { id: "abc", attributes: { name: "web", image: "busybox" } }, "1700000000123456789");
    expect(line.endsWith("\n")).toBe(true);
    expect(line).toContain('"timeNano":1700000000123456789}');
    expect(JSON.parse(line)).toMatchObject({ status: "start", id: "abc", from: "busybox", Type: "container", Action: "start", Actor: { ID: "abc", Attributes: { name: "web" } }, scope: "local", time: 1700000000 });
  });

  test("emit appends; past the size bound the file rotates once; cheap", () => {
    process.env.MYDOCKER_EVENTS_MAX_BYTES = "2000";
    try {
      for (let i = 0; i < 30; i++) emit("image", "tag", { id: `sha256:${i}`, attributes: { name: `x:${i}` } });
      expect(existsSync(rotatedEventsPath())).toBe(true);
      expect(statSync(eventsPath()).size).toBeLessThan(2000 + 200);
      expect(statSync(rotatedEventsPath()).size).toBeLessThan(2000 + 200);
      const last = readFileSync(eventsPath(), "utf8").trim().split("\n").pop()!;
      expect(JSON.parse(last).Actor.Attributes.name).toBe("x:29");
    } finally {
      delete process.env.MYDOCKER_EVENTS_MAX_BYTES;
    }
  });

  test("emit never throws: a root that cannot be written drops the event", () => {
    process.env.MYDOCKER_ROOT = "/proc/no-such-dir";
    try {
      expect(() => emit("container", "create", { id: "x" })).not.toThrow();
    } finally {
      process.env.MYDOCKER_ROOT = root;
    }
  });
});

describe("events parsing", () => {
  const now = Date.parse("2024-05-01T12:00:00Z");
  test("docker's time formats", () => {
    expect(parseEventTime("1714564800", now)).toBe(1714564800000);
    expect(parseEventTime("1714564800.5", now)).toBe(1714564800500);
    expect(parseEventTime("10m", now)).toBe(now - 600_000);
    expect(parseEventTime("1h30m", now)).toBe(now - 5_400_000);
    expect(parseEventTime("2024-05-01T11:00:00Z", now)).toBe(now - 3_600_000);
    expect(parseEventTime("2024-05-01T13:00:00+02:00", now)).toBe(now - 3_600_000);
    expect(() => parseEventTime("yesterday", now)).toThrow("invalid time");
  });

  const ev = (o: Partial<EventMessage>): EventMessage => ({ Type: "container", Action: "start", Actor: { ID: "abcdef0123", Attributes: { name: "web", image: "busybox" } }, scope: "local", time: 0, timeNano: 0, ...o });
  test("filters: values of a key are alternatives, keys all apply", () => {
    expect(matches(ev({}), parseFilters(["type=container", "event=start", "event=die"]))).toBe(true);
    expect(matches(ev({}), parseFilters(["type=image"]))).toBe(false);
    expect(matches(ev({}), parseFilters(["container=web"]))).toBe(true);
    expect(matches(ev({}), parseFilters(["container=abcd"]))).toBe(true);
    expect(matches(ev({}), parseFilters(["container=other"]))).toBe(false);
    expect(matches(ev({}), parseFilters(["image=busybox"]))).toBe(true);
    expect(() => parseFilters(["colour=red"])).toThrow("invalid filter");
  });

  test("the default line", () => {
    process.env.TZ = "UTC";
    expect(eventText(ev({ timeNano: 1714564800123456789 }))).toMatch(/^2024-05-01T12:00:00\.\d{9}Z container start abcdef0123 \(image=busybox, name=web\)$/);
  });
});

describe("stats parsing", () => {
  test("v1 blkio, v2 io.stat, net/dev", () => {
    expect(parseBlkioV1("8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\n8:16 Read 1\nTotal 12289\n")).toEqual({ read: 4097, write: 8192 });
    expect(parseIoStatV2("8:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n")).toEqual({ read: 101, write: 202 });
    const dev = "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n    lo: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n  eth0: 1200 10 0 0 0 0 0 0 3400 20 0 0 0 0 0 0\n";
    expect(parseNetDev(dev)).toEqual({ rx: 1200, tx: 3400 });
  });

  test("docker's binary sizes", () => {
    expect(bytesSize(0)).toBe("0B");
    expect(bytesSize(1536)).toBe("1.5KiB");
    expect(bytesSize(64 * 1024 * 1024)).toBe("64MiB");
    expect(bytesSize(1745000)).toBe("1.664MiB");
  });
});

describe("history", () => {
  test("newest first; empty layers have none; no history: one row per layer", () => {
    const steps = historyOf(
      { history: [{ created: "1", created_by: "ADD rootfs" }, { created: "2", created_by: "ENV A=1", empty_layer: true }, { created: "3", created_by: "RUN x" }] },
      ["sha256:l1", "sha256:l2"],
    );
    expect(steps.map((s) => [s.createdBy, s.layer])).toEqual([["RUN x", "sha256:l2"], ["ENV A=1", undefined], ["ADD rootfs", "sha256:l1"]]);
    expect(historyOf({ created: "c" }, ["sha256:a", "sha256:b"]).map((s) => s.layer)).toEqual(["sha256:b", "sha256:a"]);
  });
});
