// Fault injection: a runtime process killed at each named step of a start (MYDOCKER_FAULT, see
// src/fault.ts and src/init/protocol.ts), at random moments, and commands racing on one name.
// After every case the host must be as before (no mount, cgroup, process of ours, rootfs change)
// and every record readable; a start that did not reach execve is a start failure (125, one line).
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statfsSync } from "node:fs";
import { nftTableName } from "../../src/network/store";
import { join } from "node:path";
import { checkHostAroundEachTest, MYDOCKER, mydocker, mydockerProcesses, ROOTFS, TEST_DATA_ROOT, TEST_ROOT, testEnv } from "../e2e/helpers";

checkHostAroundEachTest(async () => {
  // every record left by a case parses and is removable (the check above ran rm -f on them)
  expect((await mydocker(["ps", "-aq"])).stdout).toBe("");
  // no hidden record (a staged start whose writer died) and no temp file is left
  expect(readdirSync(TEST_ROOT).filter((e) => e.startsWith(".new-") || e.includes(".tmp"))).toEqual([]);
  const temps: string[] = [];
  const walk = (d: string, depth: number) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (/\.tmp-\d+$/.test(e.name)) temps.push(join(d, e.name));
      if (e.isDirectory() && depth < 2 && !/^(layers|containers|volumes)$/.test(e.name)) walk(join(d, e.name), depth + 1);
    }
  };
  if (existsSync(TEST_DATA_ROOT)) walk(TEST_DATA_ROOT, 0);
  expect(temps).toEqual([]);
});

const inspect = async (name: string) => JSON.parse((await mydocker(["inspect", name])).stdout)[0];
/** A container's record as written (its monitor's pid is not in `inspect`). */
const stateOf = (name: string) => {
  for (const e of readdirSync(TEST_ROOT)) {
    const file = join(TEST_ROOT, e, "state.json");
    if (/^[0-9a-f]{64}$/.test(e) && existsSync(file) && JSON.parse(readFileSync(file, "utf8")).name === name) return JSON.parse(readFileSync(file, "utf8"));
  }
  throw new Error(`no record named ${name}`);
};

describe("the init killed before it runs the command: 125, one line, and the record says it never started", () => {
  // the first run on a host creates the default network, which may print its one ip_forward notice
  beforeAll(async () => expect((await mydocker(["run", "--rm", "true"])).code).toBe(0));
  for (const step of ["start", "after-pivot", "before-exec"]) {
    test(`init:${step}`, async () => {
      const r = await mydocker(["run", "--name", `f-${step}`, "echo", "never"], { env: { MYDOCKER_FAULT: `init:${step}` } });
      expect(r.code).toBe(125);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toEqual(["mydocker: error: init: died before it ran the command (killed?)"]);
      const s = await inspect(`f-${step}`);
      expect(s.State).toMatchObject({ Status: "exited", ExitCode: 125, Running: false });
      expect(s.State.StartedAt ?? "").toMatch(/^(0001-01-01T00:00:00Z|)$/);
    });
  }

  test("an execve that fails after the init said it execs (126: not executable): the record says it never started either", async () => {
    const r = await mydocker(["run", "--name", "f-noexec", "/etc/passwd"]);
    expect(r.code).toBe(126);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    const s = await inspect("f-noexec");
    expect(s.State).toMatchObject({ Status: "exited", ExitCode: 126, Running: false, Pid: 0 });
    expect(s.State.StartedAt ?? "").toMatch(/^(0001-01-01T00:00:00Z|)$/);
  });

  test("exec: init:before-exec of the exec'd process fails the exec alone; the container runs on", async () => {
    expect((await mydocker(["run", "-d", "--name", "f-exec", "sleep", "30"])).code).toBe(0);
    const r = await mydocker(["exec", "f-exec", "echo", "never"], { env: { MYDOCKER_FAULT: "init:before-exec" } });
    expect(r.code).toBe(125);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("init: died before it ran the command");
    expect((await mydocker(["exec", "f-exec", "echo", "still"])).stdout).toBe("still\n");
  });
});

describe("the supervisor killed", () => {
  test("run -d: the monitor dies before it reports: 125, and the container it started is stopped, not left running", async () => {
    const r = await mydocker(["run", "-d", "--name", "f-mon", "sleep", "30"], { env: { MYDOCKER_FAULT: "supervise:after-start" } });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("the container's monitor died before it reported; the container was stopped");
    expect((await inspect("f-mon")).State.Running).toBe(false);
  });

  test("foreground run killed as its init execs the command, before the record says running: the next command finds the orphan and ends it", async () => {
    // (not through a pipe: the orphaned command would hold it open)
    const proc = Bun.spawn([MYDOCKER, "run", "--name", "f-fg", "sleep", "30"], { stdout: "ignore", stderr: "ignore", env: { ...testEnv(), MYDOCKER_FAULT: "supervise:before-running" } });
    expect(await proc.exited).toBe(137); // SIGKILL of mydocker itself
    const ps = await mydocker(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    expect(ps.code).toBe(0);
    expect((await inspect("f-fg")).State.Running).toBe(false);
  });

  test("run -d killed right after it reserved the name: its monitor ends the init it spawned ahead, and exits", async () => {
    const r = await mydocker(["run", "-d", "--name", "f-rec-d", "sleep", "30"], { env: { MYDOCKER_FAULT: "run:after-record" } });
    expect(r.code).toBe(137);
    // the monitor got no go-ahead (its fd 4 closed with the killed run): no init, no monitor is
    // left (the check after each case waits for every mydocker process to be gone)
    expect((await inspect("f-rec-d")).State.Running).toBe(false);
  });

  test("run -d killed right after it reserved the name, with a shared monitor: it ends the init it spawned ahead and goes on serving", async () => {
    // a shared monitor of this fault's fingerprint: one that `start` spawned (start never reaches run:after-record)
    const fault = { MYDOCKER_FAULT: "run:after-record" };
    expect((await mydocker(["create", "--name", "f-shared", "--network", "none", "sleep", "30"])).code).toBe(0);
    expect((await mydocker(["start", "f-shared"], { env: fault })).code).toBe(0);
    const monitor = stateOf("f-shared").monitorPid as number;
    const r = await mydocker(["run", "-d", "--name", "f-rec-shared", "--network", "none", "sleep", "30"], { env: fault });
    expect(r.code).toBe(137);
    // the init it had spawned for the killed run (a mydocker process until it execs) is gone; the monitor is not
    for (let i = 0; i < 100 && mydockerProcesses().length > 1; i++) await Bun.sleep(20);
    expect(mydockerProcesses()).toEqual([monitor]);
    expect((await inspect("f-rec-shared")).State.Running).toBe(false);
    expect((await inspect("f-shared")).State.Running).toBe(true);
    // and it still serves: the next start of the same fingerprint is in its hands
    expect((await mydocker(["create", "--name", "f-shared-2", "--network", "none", "sleep", "30"])).code).toBe(0);
    expect((await mydocker(["start", "f-shared-2"], { env: fault })).code).toBe(0);
    expect(stateOf("f-shared-2").monitorPid).toBe(monitor);
  });

  test("run killed right after it reserved the name: the next command shows the container as exited", async () => {
    const r = await mydocker(["run", "--name", "f-rec", "echo", "never"], { env: { MYDOCKER_FAULT: "run:after-record" } });
    expect(r.code).toBe(137);
    expect((await inspect("f-rec")).State.Running).toBe(false);
    expect((await mydocker(["run", "--name", "f-rec", "true"])).stderr).toContain('name "f-rec" is already in use');
  });
});

describe("random moments and races", () => {
  test("run killed (SIGKILL) at 20 moments of its start: nothing is left once the next command ran", async () => {
    expect((await mydocker(["run", "--rm", "true"])).code).toBe(0); // the default network exists
    for (let i = 0; i < 20; i++) {
      // on the default bridge with a published port: an address, a port, a veth pair and a rule to give back
      const proc = Bun.spawn([MYDOCKER, "run", "--rm", "-p", "80", "sleep", "30"], { stdout: "ignore", stderr: "ignore", env: testEnv() });
      await Bun.sleep(i * 4);
      proc.kill("SIGKILL");
      await proc.exited;
    }
    const left = (await mydocker(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
    if (left.length) expect((await mydocker(["rm", "-f", ...left])).code).toBe(0);
    // no address, port or rule of theirs in the store or the kernel; their veth pairs went with
    // their namespaces (the kernel frees those asynchronously: a moment)
    const store = JSON.parse(readFileSync(join(TEST_DATA_ROOT, "networks.json"), "utf8"));
    expect(store.networks.flatMap((n: { endpoints: object }) => Object.keys(n.endpoints))).toEqual([]);
    expect(store.ports).toEqual([]);
    expect(Bun.spawnSync(["nft", "list", "chain", "ip", nftTableName(TEST_DATA_ROOT), "publish"]).stdout.toString()).not.toContain("dnat");
    const bridge = store.networks[0].bridge as string;
    const attached = () => (JSON.parse(Bun.spawnSync(["ip", "-j", "link", "show", "master", bridge]).stdout.toString() || "[]") as unknown[]).length;
    for (let i = 0; i < 250 && attached() > 0; i++) await Bun.sleep(20); // up to 5 s: an emulated VM is slow
    expect(attached()).toBe(0);
  }, 60_000);

  /** Starts `args` and SIGKILLs it after `i * step` ms, 12 times; then the next commands must cope. */
  async function killAtMoments(args: (i: number) => string[], step: number): Promise<void> {
    for (let i = 0; i < 12; i++) {
      const proc = Bun.spawn([MYDOCKER, ...args(i)], { stdout: "ignore", stderr: "ignore", env: testEnv() });
      await Bun.sleep(i * step);
      proc.kill("SIGKILL");
      await proc.exited;
    }
  }

  test("run -d, exec and rm killed at 12 moments each: the next commands see every container and remove it", async () => {
    await killAtMoments(() => ["run", "-d", "sleep", "30"], 4);
    expect((await mydocker(["run", "-d", "--name", "kx", "sleep", "30"])).code).toBe(0);
    await killAtMoments(() => ["exec", "kx", "sleep", "5"], 3);
    expect((await mydocker(["exec", "kx", "echo", "ok"])).stdout).toBe("ok\n");
    const ids = (await mydocker(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
    await killAtMoments((i) => ["rm", "-f", ids[i % ids.length]!], 3);
    const left = (await mydocker(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
    if (left.length) expect((await mydocker(["rm", "-f", ...left])).code).toBe(0);
  }, 60_000);

  test("import killed at 12 moments: no temp file outlives the next import, and no half image is listed", async () => {
    await killAtMoments((i) => ["import", ROOTFS, `killed:${i}`], 5);
    expect((await mydocker(["import", ROOTFS, "whole:1"])).code).toBe(0); // sweeps what the dead ones left
    const images = (await mydocker(["images"])).stdout;
    expect(images).toContain("whole");
    for (const line of images.split("\n").slice(1).filter(Boolean)) expect((await mydocker(["rmi", "-f", line.split(/\s+/)[2]!])).code).toBeLessThanOrEqual(1);
  }, 60_000);

  test("10 concurrent `run -d --name same`: exactly one wins, the others fail with one line", async () => {
    const runs = await Promise.all(Array.from({ length: 10 }, () => mydocker(["run", "-d", "--name", "same", "sleep", "30"])));
    expect(runs.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of runs.filter((r) => r.code !== 0)) {
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining('the container name "same" is already in use')]);
    }
  }, 60_000);
});

describe("a full runtime root (a 128 KiB tmpfs as --root: two containers with their /etc files fit)", () => {
  test("a start that cannot be recorded fails with one line and leaves nothing; ps, stop and rm work on the full disk; exit codes survive it", async () => {
    const root = Bun.spawnSync(["mktemp", "-d", "/tmp/mydocker-fullroot-XXXXXX"]).stdout.toString().trim();
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", root]).exitCode).toBe(0);
    const md = (args: string[]) => mydocker(["--root", root, ...args]);
    try {
      const first = await md(["run", "-d", "--name", "a", "sleep", "30"]);
      expect([first.code, first.stderr]).toEqual([0, ""]);
      // a foreground container that is running when the disk fills up
      const fg = Bun.spawn([MYDOCKER, "--root", root, "run", "--name", "fg", "sh", "-c", "sleep 2; exit 3"], { stdout: "ignore", stderr: "pipe", env: testEnv() });
      // recorded as running before the disk fills (a start that cannot be recorded fails: below)
      for (let i = 0; i < 200 && !/Up .* fg\n/.test((await md(["ps"])).stdout); i++) await Bun.sleep(20);
      Bun.spawnSync(["dd", "if=/dev/zero", `of=${root}/filler`, "bs=1k", "count=200"]);
      expect(statfsSync(root).bavail).toBe(0);
      expect(await fg.exited).toBe(3);
      const full = await md(["run", "-d", "sleep", "30"]);
      expect(full.code).toBe(125);
      expect(full.stderr.trim().split("\n")).toEqual([expect.stringMatching(/cannot record the container in .*: ENOSPC/)]);
      expect(Bun.spawnSync(["ls", "-A", root]).stdout.toString().split("\n").filter((e) => e.startsWith(".new-"))).toEqual([]);
      const ps = await md(["ps", "-a"]);
      expect(ps.code).toBe(0);
      expect(ps.stdout).toMatch(/Exited \(3\).* fg\n/);
      expect((await md(["stop", "-t", "1", "a"])).code).toBe(0);
      expect((await md(["ps", "-a"])).stdout).toMatch(/Exited \(137\).* a\n/);
      expect((await md(["rm", "a", "fg"])).code).toBe(0);
      expect((await md(["ps", "-aq"])).stdout).toBe("");
    } finally {
      const left = (await md(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
      if (left.length) await md(["rm", "-f", ...left]);
      Bun.spawnSync(["umount", root]);
      Bun.spawnSync(["rmdir", root]);
    }
  }, 60_000);
});

describe("rmi racing run", () => {
  test("an image is never deleted while a run that chose it starts; the loser of each race says why", async () => {
    const { ROOTFS } = await import("../e2e/helpers");
    for (let i = 0; i < 10; i++) {
      expect((await mydocker(["import", ROOTFS, `race:${i}`])).code).toBe(0);
      const [run, rmi] = await Promise.all([
        mydocker(["run", "--rm", "--network", "none", `race:${i}`, "sh", "-c", "sleep 0.2; echo ran"]),
        Bun.sleep(i * 4).then(() => mydocker(["rmi", `race:${i}`])),
      ]);
      const deleted = rmi.code === 0 && rmi.stdout.includes("Deleted:");
      if (run.code === 0) {
        // the run won: rmi must have refused (in use), never deleted under it
        expect(run.stdout).toBe("ran\n");
        expect(deleted).toBe(false);
        expect(rmi.stderr).toContain("is used by container");
        expect((await mydocker(["rmi", `race:${i}`])).code).toBe(0);
      } else {
        // rmi won: the run found no such image — as a command it is not (exit 127), in one line
        expect(deleted).toBe(true);
        expect(run.stderr.trim().split("\n")).toHaveLength(1);
      }
    }
  }, 60_000);
});
