// --log-opt max-size/max-file: container.log rotates (json-file semantics) and `logs` reads across
// the kept files in order; `logs --since/--until/--details`.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, MYDOCKER, mydocker, TEST_ROOT, testEnv } from "./helpers";

checkHostAroundEachTest();

const inspect = async (name: string, format: string) => (await mydocker(["inspect", "--format", format, name])).stdout.trim();

async function waitForExit(name: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while ((await inspect(name, "{{.State.Status}}")) !== "exited") {
    if (Date.now() > deadline) throw new Error(`${name} never exited`);
    await Bun.sleep(30);
  }
}

const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line-${from + i}\n`).join("");
const PRINT_200 = "i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo line-$i; done";

/**
 * `logs -f` of a detached container whose `writer` (sh) begins only once `logs -f` follows: what
 * logs -f printed after the container's first line ("ready"). The kept files hold a few hundred
 * lines at most, which a slow machine (the VM) wrote and rotated away before a late `logs -f` began.
 */
async function followFromTheStart(name: string, logOpts: string[], writer: string): Promise<string> {
  const sync = mkdtempSync(join(tmpdir(), "mydocker-test-follow-"));
  try {
    const script = `echo ready; while [ ! -e /sync/go ]; do sleep 0.02; done; ${writer}`;
    expect((await mydocker(["run", "-d", "--name", name, "-v", `${sync}:/sync`, ...logOpts, "sh", "-c", script])).code).toBe(0);
    const follow = Bun.spawn([MYDOCKER, "logs", "-f", name], { env: testEnv(), stdout: "pipe", stderr: "pipe" });
    const reader = follow.stdout.getReader();
    const decoder = new TextDecoder();
    let out = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      const had = out.includes("\n");
      out += decoder.decode(chunk.value, { stream: true });
      if (!had && out.includes("\n")) writeFileSync(join(sync, "go"), "");
    }
    expect(await follow.exited).toBe(0);
    expect(out.slice(0, "ready\n".length)).toBe("ready\n");
    return out.slice("ready\n".length);
  } finally {
    rmSync(sync, { recursive: true, force: true });
  }
}

describe("log rotation", () => {
  test("at max-size the log rotates; at most max-file files stay; logs reads them oldest first", async () => {
    const id = (await mydocker(["run", "-d", "--name", "lr1", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "sh", "-c", PRINT_200])).stdout.trim();
    await waitForExit("lr1");
    const dir = join(TEST_ROOT, id);
    const logFiles = readdirSync(dir).filter((f) => f.startsWith("container.log")).sort();
    expect(logFiles).toEqual(["container.log", "container.log.1", "container.log.2"]);
    // a rotated file passes max-size by at most the entry that crossed it
    for (const f of ["container.log.1", "container.log.2"]) {
      const size = statSync(join(dir, f)).size;
      expect(size).toBeGreaterThanOrEqual(1024);
      expect(size).toBeLessThan(1024 + 100);
    }
    // what `logs` shows is exactly the newest lines, in order, with none missing between files
    const out = (await mydocker(["logs", "lr1"])).stdout;
    const first = Number(/^line-(\d+)\n/.exec(out)![1]);
    expect(first).toBeGreaterThan(100);
    expect(out).toBe(lines(first, 200));
    expect((await mydocker(["logs", "--tail", "3", "lr1"])).stdout).toBe(lines(198, 200));
    // the oldest kept file holds the oldest lines
    expect(JSON.parse(readFileSync(join(dir, "container.log.2"), "utf8").split("\n")[0]!).log).toBe(`line-${first}\n`);
  });

  test("max-file=1: the file is emptied and begun again, no rotated files; the comma form is accepted", async () => {
    const id = (await mydocker(["run", "-d", "--name", "lr2", "--log-opt", "max-size=1k,max-file=1", "sh", "-c", PRINT_200])).stdout.trim();
    await waitForExit("lr2");
    expect(readdirSync(join(TEST_ROOT, id)).filter((f) => f.startsWith("container.log"))).toEqual(["container.log"]);
    expect((await mydocker(["logs", "lr2"])).stdout).toEndWith(lines(199, 200));
  });

  test("without --log-opt the log is not rotated", async () => {
    await mydocker(["run", "-d", "--name", "lr3", "sh", "-c", PRINT_200]);
    await waitForExit("lr3");
    expect((await mydocker(["logs", "lr3"])).stdout).toBe(lines(1, 200));
  });

  test("logs -f follows across rotations without losing or repeating a line", async () => {
    const out = await followFromTheStart("lr4", ["--log-opt", "max-size=1k", "--log-opt", "max-file=5"], "i=0; while [ $i -lt 120 ]; do i=$((i+1)); echo line-$i; [ $((i % 10)) = 0 ] && sleep 0.1; done");
    expect(out).toBe(lines(1, 120));
  });

  test("plain logs while the log rotates fast: every output is consecutive lines, each once, in order", async () => {
    await mydocker(["run", "-d", "--name", "lr6", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "sh", "-c", "i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); echo line-$i; done"]);
    let reads = 0;
    while (reads < 40 && (await inspect("lr6", "{{.State.Status}}")) === "running") {
      const numbers = (await mydocker(["logs", "lr6"])).stdout.split("\n").filter(Boolean).map((l) => Number(/^line-(\d+)$/.exec(l)?.[1]));
      const gaps = numbers.filter((n, i) => i > 0 && n !== numbers[i - 1]! + 1);
      expect({ read: reads, gaps }).toEqual({ read: reads, gaps: [] });
      reads++;
    }
    expect(reads).toBeGreaterThan(5); // it was read while it wrote
  });

  test("logs -f under fast rotation (several rotations between two reads) skips no file", async () => {
    const out = await followFromTheStart("lr7", ["--log-opt", "max-size=1k", "--log-opt", "max-file=10"], "i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo line-$i; [ $((i % 40)) = 0 ] && sleep 0.15; done");
    expect(out).toBe(lines(1, 600));
  });

  test("bad --log-opt values exit 125 with one line", async () => {
    for (const [opt, message] of [
      ["max-size=big", 'invalid --log-opt max-size "big"'],
      ["max-file=0", 'invalid --log-opt max-file "0"'],
      ["max-file=3", "max-file requires max-size"],
      ["colour=red", "unknown log opt 'colour'"],
    ]) {
      const r = await mydocker(["run", "-d", "--log-opt", opt!, "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(message!);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe("logs --since/--until/--details", () => {
  test("time windows in RFC 3339, Unix seconds and relative forms; --details prefixes the (empty) attributes", async () => {
    await mydocker(["run", "-d", "--name", "lt1", "sh", "-c", "echo early; sleep 1.2; echo late"]);
    await waitForExit("lt1");
    const entries = readFileSync(join(TEST_ROOT, await inspect("lt1", "{{.Id}}"), "container.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(entries[1].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/); // docker's json-file: RFC 3339 with nanoseconds
    const lateAt = Date.parse(entries[1].time);
    const between = new Date(lateAt - 600);
    expect((await mydocker(["logs", "--since", between.toISOString(), "lt1"])).stdout).toBe("late\n");
    expect((await mydocker(["logs", "--until", between.toISOString(), "lt1"])).stdout).toBe("early\n");
    expect((await mydocker(["logs", "--since", String(between.getTime() / 1000), "lt1"])).stdout).toBe("late\n");
    expect((await mydocker(["logs", "--since", "1h", "lt1"])).stdout).toBe("early\nlate\n");
    expect((await mydocker(["logs", "--until", "1h", "lt1"])).stdout).toBe("");
    expect((await mydocker(["logs", "--details", "lt1"])).stdout).toBe(" early\n late\n");
    expect((await mydocker(["logs", "-t", "--since", between.toISOString(), "lt1"])).stdout).toBe(`${entries[1].time} late\n`);
    const bad = await mydocker(["logs", "--since", "yesterday", "lt1"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('invalid --since "yesterday"');
  });
});
