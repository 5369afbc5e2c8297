// Faults found by fault injection ("Nothing lost, nothing hidden"), each reproduced on the compiled
// binary: endless or empty inputs to import/load, signals during long image commands, broken
// container records, temp files of killed writers, --rm orphans in `ps -a`, FIFOs as inputs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dismantleUnder } from "../networks";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mknod, S_IFIFO } from "../../ffi/fs";
import { makeTar } from "../image/fixtures";
import { checkHostAroundEachTest, containerCgroupDir, MYDOCKER, mydocker, TEST_ROOT, testEnv } from "./helpers";

let scratch: string;
let n = 0;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "mydocker-faults-"));
});
afterAll(() => {
  dismantleUnder(scratch); // bridges and nftables tables of their data roots are host-wide
  rmSync(scratch, { recursive: true, force: true });
});

/** Roots of their own for one image test, so that "nothing left" means this test's leftovers. */
function freshRoots(): Record<string, string> {
  const dir = join(scratch, `roots-${++n}`);
  return { MYDOCKER_DATA_ROOT: join(dir, "data"), MYDOCKER_ROOT: join(dir, "run") };
}

/** Every file under the data root except its two lock files (empty dirs are fine). */
function leftovers(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (lstatSync(p).isDirectory()) {
        if (dir === join(root, "tmp")) out.push(p); // a temp dir is a leftover even when empty
        walk(p);
      } else if (!(dir === root && [".lock", ".gc-lock", "networks.json", "networks.lock"].includes(name))) out.push(p); // the network store outlives containers
    }
  };
  walk(root);
  return out;
}

async function run(argv: string[], env: Record<string, string>, stdin?: Uint8Array) {
  const proc = Bun.spawn([MYDOCKER, ...argv], {
    stdin: stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    timeout: 60_000, // a bound, not a target: the VM's software emulation is slow
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, signal: proc.signalCode };
}

/** A ustar header announcing a regular file of 8 GiB - 1 (the largest octal size): its content never ends. */
function endlessFileHeader(): Buffer {
  const h = Buffer.from(makeTar([{ name: "big", data: "x" }], { end: false }).subarray(0, 512));
  h.write("77777777777\0", 124, 12, "latin1");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
  return h;
}

const smallTar = () => makeTar([{ name: "etc/", type: "5", mode: 0o755 }, { name: "etc/hello", data: "hello\n" }]);

// ---------------------------------------------------------------- endless and empty inputs

describe("import and load of endless or empty input end at once", () => {
  test("import /dev/zero: an empty archive, refused in well under a second, nothing kept", async () => {
    const env = freshRoots();
    const t0 = performance.now();
    const r = await run(["import", "/dev/zero", "zero:1"], env);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("mydocker: error: /dev/zero: empty archive: no entries\n");
    expect(leftovers(env.MYDOCKER_DATA_ROOT!)).toEqual([]);
  });

  test("import of 100 MiB of zeros, or of two zero blocks, on stdin: refused, no image", async () => {
    const env = freshRoots();
    for (const size of [100 << 20, 1024]) {
      const r = await run(["import", "-", "z"], env, new Uint8Array(size));
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("mydocker: error: stdin: empty archive: no entries\n");
      expect((await run(["images", "-q"], env)).stdout).toBe("");
      expect(leftovers(env.MYDOCKER_DATA_ROOT!)).toEqual([]);
    }
  });

  test("a tar followed by endless zeros: import and load stop 1 MiB after the end marker", async () => {
    const env = freshRoots();
    writeFileSync(join(scratch, "small.tar"), smallTar());
    for (const argv of [["import", "-", "x"], ["load"]]) {
      // the shell pipes a real tar, then /dev/zero, into mydocker's stdin
      const proc = Bun.spawn(["sh", "-c", `cat ${join(scratch, "small.tar")} /dev/zero | exec "$@"`, "sh", MYDOCKER, ...argv], {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...env, PATH: process.env.PATH ?? "/usr/bin:/bin" },
        timeout: 10_000,
      });
      const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      expect(code).toBe(1);
      expect(stderr).toBe("mydocker: error: stdin: corrupt archive: more than 1 MiB of data after the end-of-archive marker\n");
      expect(leftovers(env.MYDOCKER_DATA_ROOT!)).toEqual([]);
    }
  });

  test("load -i /dev/zero is refused at once", async () => {
    const env = freshRoots();
    const r = await run(["load", "-i", "/dev/zero"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("mydocker: error: /dev/zero: empty archive: no entries\n");
    expect(leftovers(env.MYDOCKER_DATA_ROOT!)).toEqual([]);
  });

  test("a FIFO is read as a stream (import and load), its writer slow to come", async () => {
    const env = freshRoots();
    const fifo = join(scratch, `fifo-${++n}`);
    mknod(fifo, S_IFIFO | 0o600);
    writeFileSync(join(scratch, "small.tar"), smallTar());
    const writer = Bun.spawn(["sh", "-c", `sleep 0.2; cat ${join(scratch, "small.tar")} > ${fifo}`]);
    const r = await run(["import", fifo, "fifo:1"], env);
    await writer.exited;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const saved = join(scratch, "fifo.tar");
    expect((await run(["save", "-o", saved, "fifo:1"], env)).code).toBe(0);
    expect((await run(["rmi", "fifo:1"], env)).code).toBe(0);
    const writer2 = Bun.spawn(["sh", "-c", `cat ${saved} > ${fifo}`]);
    const l = await run(["load", "-i", fifo], env);
    await writer2.exited;
    expect(l.stderr).toBe("");
    expect(l.stdout).toBe("Loaded image: fifo:1\n");
  });
});

// ---------------------------------------------------------------- signals

/** Starts `argv` on a stream that never ends, signals it after 300 ms; it must be gone within 1 s and leave nothing. */
async function interrupt(argv: string[], feed: "stdin-yes" | "stdin-random" | "fifo-yes" | "fifo-random", signal: "SIGTERM" | "SIGINT") {
  const env = freshRoots();
  const header = endlessFileHeader();
  const spawn = (input: string, stdin: "pipe" | "ignore") =>
    Bun.spawn([MYDOCKER, ...argv.map((a) => (a === "INPUT" ? input : a))], { stdin, stdout: "pipe", stderr: "pipe", env: { ...env, PATH: process.env.PATH! } });
  let proc: ReturnType<typeof spawn>;
  let writer: Bun.Subprocess | undefined;
  let feeder: Timer | undefined;
  if (feed.startsWith("fifo")) {
    const fifo = join(scratch, `fifo-${++n}`);
    mknod(fifo, S_IFIFO | 0o600);
    writeFileSync(join(scratch, "header"), header);
    const source = feed === "fifo-yes" ? "exec yes" : "exec cat /dev/urandom";
    writer = Bun.spawn(["sh", "-c", `{ cat ${join(scratch, "header")}; ${source}; } > ${fifo}`], { stderr: "ignore" });
    proc = spawn(fifo, "ignore");
  } else {
    proc = spawn("-", "pipe");
    const stdin = proc.stdin as import("bun").FileSink;
    stdin.write(header);
    const block = feed === "stdin-yes" ? Buffer.from("y\n".repeat(32 << 10)) : undefined;
    feeder = setInterval(() => {
      try {
        // EPIPE once it is gone, thrown here or from a write still pending (FileSink.write and
        // flush may return a promise): never an error of the test, even after it ended
        Promise.resolve(stdin.write(block ?? crypto.getRandomValues(new Uint8Array(64 << 10)))).catch(() => {});
        Promise.resolve(stdin.flush()).catch(() => {});
      } catch {}
    }, 1);
  }
  // once its handler is in place (the kernel's SigCgt mask: a slow start, as in the emulated VM,
  // may take longer than any fixed wait), then a moment of reading
  await waitForSignalHandler(proc.pid, signal);
  await Bun.sleep(100);
  expect(proc.exitCode).toBeNull(); // still reading
  const t0 = performance.now();
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
  await proc.exited;
  const took = performance.now() - t0;
  clearTimeout(timer);
  clearInterval(feeder);
  writer?.kill();
  await writer?.exited;
  expect({ took: took < 1000, code: proc.exitCode, signal: proc.signalCode }).toEqual({ took: true, code: signal === "SIGTERM" ? 143 : 130, signal: null });
  expect(leftovers(env.MYDOCKER_DATA_ROOT!)).toEqual([]);
}

/** Waits (up to 20 s) until `pid` catches `signal`, as /proc/PID/status's SigCgt shows. */
async function waitForSignalHandler(pid: number, signal: "SIGTERM" | "SIGINT"): Promise<void> {
  const bit = 1n << BigInt((signal === "SIGTERM" ? 15 : 2) - 1);
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await Bun.sleep(10)) {
    const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    if (caught && (BigInt(`0x${caught}`) & bit) !== 0n) return;
  }
  throw new Error(`pid ${pid} never caught ${signal}`);
}

describe("SIGTERM and SIGINT end a long image command within a second, leaving nothing", () => {
  test("import from stdin (`yes` after a tar header), SIGTERM", () => interrupt(["import", "INPUT", "slow"], "stdin-yes", "SIGTERM"));
  test("import from stdin (random bytes after a tar header), SIGINT", () => interrupt(["import", "INPUT", "slow"], "stdin-random", "SIGINT"));
  test("import from a FIFO (`yes`), SIGINT", () => interrupt(["import", "INPUT", "slow"], "fifo-yes", "SIGINT"));
  test("import from a FIFO (/dev/urandom), SIGTERM", () => interrupt(["import", "INPUT", "slow"], "fifo-random", "SIGTERM"));
  test("load from stdin (`yes` after a tar header), SIGTERM", () => interrupt(["load"], "stdin-yes", "SIGTERM"));
  test("load -i FIFO (/dev/urandom), SIGINT", () => interrupt(["load", "-i", "INPUT"], "fifo-random", "SIGINT"));

  test("save -o FILE: SIGTERM while it writes removes the temp file", async () => {
    const env = freshRoots();
    const dir = join(scratch, `big-${++n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "blob"), "");
    truncateSync(join(dir, "blob"), 512 << 20); // sparse: costs nothing here, 512 MiB to tar
    expect((await run(["import", dir, "big"], env)).code).toBe(0);
    const outDir = join(scratch, `out-${n}`);
    mkdirSync(outDir);
    const proc = Bun.spawn([MYDOCKER, "save", "-o", join(outDir, "big.tar"), "big"], { stdout: "pipe", stderr: "pipe", env: { ...env, PATH: process.env.PATH! } });
    const tmp = join(outDir, `big.tar.tmp-${proc.pid}`);
    for (let i = 0; i < 500 && !(existsSync(tmp) && lstatSync(tmp).size > 0); i++) await Bun.sleep(2);
    expect(existsSync(tmp)).toBe(true); // it is writing
    const t0 = performance.now();
    proc.kill("SIGTERM");
    await proc.exited;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(proc.exitCode).toBe(143);
    expect(readdirSync(outDir)).toEqual([]);
  }, 120_000); // the VM (software emulation) takes a while to import 512 MiB
});

// ---------------------------------------------------------------- temp files of dead writers

describe("temp files of writers that died are swept", () => {
  async function deadPid(): Promise<number> {
    const p = Bun.spawn(["true"]);
    await p.exited;
    return p.pid;
  }

  for (const by of ["import", "rmi"] as const) {
    test(`by a later ${by}, under the store lock; a live writer's stay`, async () => {
      const env = freshRoots();
      const data = env.MYDOCKER_DATA_ROOT!;
      const tar = join(scratch, `sweep-${++n}.tar`);
      writeFileSync(tar, smallTar());
      expect((await run(["import", tar, "first"], env)).code).toBe(0);
      const dead = await deadPid();
      const stale = [join(data, "images", `${"a".repeat(64)}.json.tmp-${dead}`), join(data, `repositories.json.tmp-${dead}`)];
      const live = join(data, "images", `${"b".repeat(64)}.json.tmp-${process.pid}`);
      for (const f of [...stale, live]) writeFileSync(f, "{");
      mkdirSync(join(data, "tmp", `${dead}-abcdef`), { recursive: true });
      const r = by === "import" ? await run(["import", "-", "second"], env, makeTar([{ name: "other", data: "2" }])) : await run(["rmi", "first"], env);
      expect(r.code).toBe(0);
      for (const f of stale) expect(existsSync(f)).toBe(false);
      expect(existsSync(join(data, "tmp", `${dead}-abcdef`))).toBe(false);
      expect(existsSync(live)).toBe(true);
      unlinkSync(live);
    });
  }
});

// ---------------------------------------------------------------- broken container records

describe("a broken state.json: the container shows as dead, rm -f removes it, its name stays taken", () => {
  checkHostAroundEachTest();
  const statePath = (id: string) => join(TEST_ROOT, id, "state.json");
  const psAll = async () =>
    (await mydocker(["ps", "-a", "--format", "json"])).stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { ID: string; State: string; Names: string });

  const cases: [what: string, corrupt: (id: string) => void, reason: RegExp, nameKept: boolean][] = [
    ["valid JSON lacking fields", (id) => writeFileSync(statePath(id), JSON.stringify({ id, name: "broken", status: "running" })), /"created" is missing/, true],
    ["another id", (id) => writeFileSync(statePath(id), JSON.stringify({ id: "x", name: "broken", status: "running" })), /names another container id/, true],
    ["a JSON array", (id) => writeFileSync(statePath(id), "[1,2,3]"), /not a JSON object/, false],
    ["truncated to 0 bytes", (id) => truncateSync(statePath(id), 0), /state\.json is empty/, false],
    ["garbage", (id) => writeFileSync(statePath(id), "\x00garbage{"), /not valid JSON/, false],
    ["a symlink to a valid state", (id) => {
      const copy = join(scratch, `state-${id}.json`);
      writeFileSync(copy, readFileSync(statePath(id)));
      unlinkSync(statePath(id));
      symlinkSync(copy, statePath(id));
    }, /state\.json is a symlink/, false],
  ];

  for (const [what, corrupt, reason, nameKept] of cases) {
    test(what, async () => {
      const started = await mydocker(["run", "-d", "--name", "broken", "sleep", "1000"]);
      expect(started.code).toBe(0);
      const id = started.stdout.trim();
      const cgroup = containerCgroupDir(id.slice(0, 12), "memory");
      corrupt(id);

      // every command still works, and the container is listed as dead with its reason
      const ps = await mydocker(["ps", "-a"]);
      expect(ps.stderr).toBe("");
      expect(ps.code).toBe(0);
      expect(await psAll()).toEqual([{ ID: id.slice(0, 12), State: "dead", Names: nameKept ? "broken" : "" } as any].map((o) => expect.objectContaining(o)));
      const inspect = await mydocker(["inspect", id]);
      expect(inspect.code).toBe(0);
      const state = JSON.parse(inspect.stdout)[0].State;
      expect(state.Status).toBe("dead");
      expect(state.Error).toMatch(reason);

      // its name is not handed out again while it is readable; other containers run and stop
      const again = await mydocker(["run", "--rm", "--name", "broken", "true"]);
      if (nameKept) {
        expect(again.code).toBe(125);
        expect(again.stderr).toMatch(`the container name "broken" is already in use by container ${id.slice(0, 12)}`);
      } else expect(again.code).toBe(0);
      const other = await mydocker(["run", "-d", "sleep", "1000"]);
      expect(other.code).toBe(0);
      expect((await mydocker(["stop", "-t", "0", other.stdout.trim()])).code).toBe(0);
      expect((await mydocker(["rm", other.stdout.trim()])).code).toBe(0);

      // rm without -f refuses (its processes still run); rm -f tears down its cgroup by its id
      expect((await mydocker(["rm", id])).stderr).toMatch(/processes still run in its cgroup \(use rm -f\)/);
      const rm = await mydocker(["rm", "-f", nameKept ? "broken" : id.slice(0, 12)]);
      expect(rm.stderr).toBe("");
      expect(rm.code).toBe(0);
      expect(existsSync(cgroup)).toBe(false);
      expect(existsSync(join(TEST_ROOT, id))).toBe(false);
      expect(await psAll()).toEqual([]);
    }, 30_000);
  }

  test("a container directory that is a symlink is not followed: rm -f removes the link only", async () => {
    const started = await mydocker(["run", "-d", "--name", "linked", "sleep", "1000"]);
    const id = started.stdout.trim();
    const elsewhere = join(scratch, `moved-${id}`);
    Bun.spawnSync(["mv", join(TEST_ROOT, id), elsewhere]);
    symlinkSync(elsewhere, join(TEST_ROOT, id));
    const s = (await psAll()).find((c) => c.ID === id.slice(0, 12));
    expect(s?.State).toBe("dead");
    expect(JSON.parse((await mydocker(["inspect", id])).stdout)[0].State.Error).toMatch(/is a symlink/);
    expect((await mydocker(["rm", "-f", id])).code).toBe(0);
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
    expect(readdirSync(elsewhere)).toContain("state.json"); // the target is untouched
  }, 30_000);
});

// ---------------------------------------------------------------- --rm orphans

describe("ps -a and --rm orphans", () => {
  checkHostAroundEachTest();

  test("mydocker killed after the init has its orders, before the cgroup is made: the init ends by itself, ps -a removes the rest", async () => {
    const p = Bun.spawn([MYDOCKER, "run", "--rm", "--network", "none", "--name", "orders-orphan", "true"], {
      env: { ...testEnv(), MYDOCKER_FAULT: "start:after-orders" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await p.exited).toBe(137);
    // the init, waiting for the cgroup's line, reads the end of fd 3 and exits (checked for no
    // mydocker process left after the test); the record and the root's overlay wait for the next command
    expect(existsSync(TEST_ROOT) && readdirSync(TEST_ROOT).some((e) => /^[0-9a-f]{64}$/.test(e))).toBe(true);
    const ps = await mydocker(["ps", "-a", "--format", "json"]);
    expect(ps.code).toBe(0);
    expect(ps.stdout).toBe("");
  });

  test("an --rm container whose init and monitor were killed is removed by ps -a, and not listed", async () => {
    const started = await mydocker(["run", "-d", "--rm", "--name", "orphan", "sleep", "1000"]);
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    const s = JSON.parse(readFileSync(join(TEST_ROOT, id, "state.json"), "utf8"));
    process.kill(s.monitorPid, "SIGKILL");
    process.kill(s.pid, "SIGKILL");
    for (let i = 0; i < 100 && existsSync(`/proc/${s.pid}`) && !readFileSync(`/proc/${s.pid}/stat`, "utf8").includes(") Z"); i++) await Bun.sleep(10);
    const ps = await mydocker(["ps", "-a", "--format", "json"]);
    expect(ps.code).toBe(0);
    expect(ps.stdout).toBe("");
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
  });
});
