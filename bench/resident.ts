#!/usr/bin/env bun
// (d) Resident overhead of detached containers: N (20) `mydocker run -d ... sleep` running, the
// PSS (/proc/PID/smaps_rollup) of every mydocker process summed and divided by N; the same for
// podman's conmon (podman run -d --runtime runc, on a copy of the rootfs), when podman is here.
// Neither has a network but loopback (mydocker: --network none; podman: netns = "none").
//
//   bun bench/resident.ts        env: BENCH_N (20), MYDOCKER, ROOTFS
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fmt, intEnv, MYDOCKER, mydockerEnv, onCleanup, preflight, printTable, quiet, ROOTFS, tempDir, timed } from "./lib";

preflight();
const N = intEnv("BENCH_N", 20);
const dir = tempDir("resident");

interface Memory {
  processes: number;
  pssKiB: number;
  privateDirtyKiB: number;
}

/** The summed smaps_rollup of every process `match` picks. */
function memoryOf(match: (pid: number) => boolean): Memory {
  const m: Memory = { processes: 0, pssKiB: 0, privateDirtyKiB: 0 };
  for (const pid of processesMatching(match)) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      m.pssKiB += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      m.privateDirtyKiB += Number(/^Private_Dirty:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      m.processes++;
    } catch {} // gone meanwhile
  }
  return m;
}

/** Pids of the processes (other than this one) that `match`. */
function processesMatching(match: (pid: number) => boolean): number[] {
  return readdirSync("/proc").filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid).map(Number).filter((pid) => {
    try {
      return match(pid);
    } catch {
      return false; // gone meanwhile
    }
  });
}

const exeIs = (path: string) => (pid: number) => realpathSync(`/proc/${pid}/exe`) === path;
const cmdlineHas = (name: string, text: string) => (pid: number) => {
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  return argv.split("\0")[0]!.endsWith(name) && argv.includes(text);
};

// ---- mydocker (its executable's pages were dropped from the page cache: preflight, lib.ts)
const env = mydockerEnv(dir);
onCleanup(() => {
  const ids = timed([MYDOCKER, "ps", "-aq"], env).stdout.split("\n").filter(Boolean);
  if (ids.length) quiet([MYDOCKER, "rm", "-f", ...ids], env);
});
for (let i = 0; i < N; i++) timed([MYDOCKER, "run", "-d", "--network", "none", "--rootfs", ROOTFS, "sleep", "3600"], env);
await Bun.sleep(500); // settled: the monitors' start-up garbage is what it will be
const md = memoryOf(exeIs(realpathSync(MYDOCKER)));
quiet([MYDOCKER, "rm", "-f", ...timed([MYDOCKER, "ps", "-aq"], env).stdout.split("\n").filter(Boolean)], env);

// ---- podman + conmon (runc as its runtime; the configuration the e2e tests use)
let podman: Memory | string;
try {
  podman = podmanMemory();
} catch (e) {
  podman = `skipped: ${(e as Error).message.split("\n")[0]}`;
}

function podmanMemory(): Memory {
  if (!Bun.which("podman") || !Bun.which("conmon")) throw new Error("podman or conmon not installed");
  const p = join(dir, "podman");
  for (const d of ["home/.config/containers", "tmp", "libpod-tmp"]) mkdirSync(join(p, d), { recursive: true });
  const rootfs = join(p, "rootfs");
  cpSync(ROOTFS, rootfs, { recursive: true, verbatimSymlinks: true }); // podman writes into a --rootfs
  writeFileSync(join(p, "containers.conf"), [
    // conmon stays in our cgroup (no libpod_parent/conmon left on the host)
    "[containers]", 'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]', 'netns = "none"', 'log_driver = "k8s-file"', 'cgroups = "no-conmon"',
    "[engine]", 'cgroup_manager = "cgroupfs"', 'events_logger = "file"', `events_logfile_path = "${p}/events.log"`, 'runtime = "runc"',
  ].join("\n") + "\n");
  writeFileSync(join(p, "storage.conf"), `[storage]\ndriver = "vfs"\ngraphroot = "${p}/root"\nrunroot = "${p}/runroot"\n`);
  const penv = {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: join(p, "home"), TMPDIR: join(p, "tmp"),
    CONTAINERS_CONF: join(p, "containers.conf"), CONTAINERS_STORAGE_CONF: join(p, "storage.conf"),
  };
  const podmanCmd = (...args: string[]) => ["podman", "--root", join(p, "root"), "--runroot", join(p, "runroot"), "--tmpdir", join(p, "libpod-tmp"), ...args];
  // the containers' cgroups under a parent of our own, removed afterwards in every hierarchy
  const parent = `mydocker-bench-resident-${process.pid}`;
  onCleanup(() => {
    for (const h of readdirSync("/sys/fs/cgroup").map((n) => join("/sys/fs/cgroup", n, parent))) if (existsSync(h)) removeCgroupTree(h);
  });
  onCleanup(() => {
    quiet(podmanCmd("rm", "-f", "-a", "-t", "0"), penv);
    // conmon runs `podman container cleanup` for each container once it has exited, on its own:
    // one that ran after the temp dir was removed made its storage dirs again (17:26 UTC, a
    // /tmp/mydocker-bench-resident-* left with podman/root and podman/runroot). Wait for them.
    const mentionsUs = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(p);
    for (let i = 0; i < 200 && processesMatching(mentionsUs).length; i++) Bun.sleepSync(50);
  });
  for (let i = 0; i < N; i++) timed(podmanCmd("run", "-d", "--cgroup-parent", `/${parent}`, "--rootfs", rootfs, "sleep", "3600"), penv);
  Bun.sleepSync(500);
  return memoryOf(cmdlineHas("conmon", p));
}

/** A cgroup and the ones below it, deepest first (rmdir(2) of a cgroup with children is EBUSY). */
function removeCgroupTree(d: string): void {
  for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(join(d, e.name));
  rmdirSync(d);
}

const row = (what: string, m: Memory) => [what, String(m.processes), fmt(m.pssKiB / 1024), fmt(m.pssKiB / 1024 / N, 2), fmt(m.privateDirtyKiB / 1024 / N, 2)];
printTable(
  `resident overhead of ${N} detached \`sleep\` containers (PSS, /proc/PID/smaps_rollup)`,
  ["supervisor", "processes", "PSS total MiB", "PSS per container MiB", "private dirty per container MiB"],
  [row("mydocker (every mydocker process)", md), ...(typeof podman === "string" ? [] : [row("podman: conmon (runtime runc)", podman)])],
  typeof podman === "string" ? [`podman: ${podman}`] : [],
);
