#!/usr/bin/env bun
// (a) `run -d`: from the command to the container's id printed (mydocker) or its return (runc
// run -d, detached, with a --pid-file), on the same rootfs, a `sleep` each; the containers are
// removed after each sample, outside its time. Twice: cold (no other mydocker container, so each
// start spawns a monitor) and steady (another detached container runs, so its shared monitor
// takes the start: src/containers/shared-monitor.ts). (b) `exec /bin/true` into a running
// container, start to exit, mydocker's against `runc exec` into a running runc container.
// mydocker's containers get `--network none`: the network runc's bundle has (a namespace of its
// own with loopback only), not the default bridge (bench/network.ts measures that).
//
//   bun bench/detached.ts        env: BENCH_RUNS (30), BENCH_WARMUP (3), MYDOCKER, ROOTFS
import { readdirSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { buildFloor, fmt, interleave, intEnv, makeBundle, median, MYDOCKER, mydockerEnv, onCleanup, preflight, printTable, quiet, ROOTFS, tempDir, timed } from "./lib";

preflight();
const RUNS = intEnv("BENCH_RUNS", 30);
const WARMUP = intEnv("BENCH_WARMUP", 3);
const dir = tempDir("detached");
const env = mydockerEnv(dir);
const runcRoot = join(dir, "runc-state");
const bundle = makeBundle(join(dir, "bundle"), ["sleep", "3600"]);
const runc = (...args: string[]) => ["runc", "--root", runcRoot, ...args];
const tag = `b${process.pid}`;

// every container this script made goes, whatever happened
onCleanup(() => {
  const ids = timed([MYDOCKER, "ps", "-aq"], env).stdout.split("\n").filter(Boolean);
  if (ids.length) quiet([MYDOCKER, "rm", "-f", ...ids], env);
});
onCleanup(() => {
  for (const id of timed(runc("list", "-q")).stdout.split("\n").filter(Boolean)) quiet(runc("delete", "-f", id));
});

// (a)
/** Cold: after each sample, until its monitor has ended too (outside the time). */
function untilNoMydockerProcess(): void {
  const exe = realpathSync(MYDOCKER);
  const running = () => readdirSync("/proc").some((e) => /^\d+$/.test(e) && Number(e) !== process.pid && readlinkOr(`/proc/${e}/exe`) === exe);
  for (let i = 0; i < 500 && running(); i++) Bun.sleepSync(10);
}
const readlinkOr = (path: string) => {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
};

const runDetached = (what: "cold" | "steady") => [
  {
    name: `mydocker run -d ${what}`,
    measure: () => {
      const { ms, stdout } = timed([MYDOCKER, "run", "-d", "--network", "none", "--rootfs", ROOTFS, "sleep", "3600"], env);
      quiet([MYDOCKER, "rm", "-f", stdout.trim()], env);
      if (what === "cold") untilNoMydockerProcess();
      return ms;
    },
  },
  {
    name: `runc run -d ${what}`,
    measure: (i: number) => {
      const id = `${tag}-d${what}${i}`;
      const { ms } = timed(runc("run", "-d", "--pid-file", join(dir, `${id}.pid`), "--bundle", bundle, id), undefined, false);
      quiet(runc("kill", id, "KILL"));
      quiet(runc("delete", "-f", id));
      return ms;
    },
  },
];
const cold = interleave(runDetached("cold"), RUNS, WARMUP);

// (b): one long-lived container each
const mdId = timed([MYDOCKER, "run", "-d", "--network", "none", "--rootfs", ROOTFS, "sleep", "3600"], env).stdout.trim();
const runcId = `${tag}-exec`;
timed(runc("run", "-d", "--pid-file", join(dir, "exec.pid"), "--bundle", bundle, runcId), undefined, false);
const steady = interleave(runDetached("steady"), RUNS, WARMUP);
// the design's floor for an exec: two Bun processes and the namespaces joined (bench/floor/main.ts)
const floor = buildFloor(join(dir, "floor"));
const mdPid = timed([MYDOCKER, "inspect", "-f", "{{.State.Pid}}", mdId], env).stdout.trim();
const exec = interleave(
  [
    { name: "mydocker exec", measure: () => timed([MYDOCKER, "exec", mdId, "/bin/true"], env).ms },
    { name: "floor --join", measure: () => timed([floor, "--join", mdPid, "/bin/true"], env).ms },
    { name: "runc exec", measure: () => timed(runc("exec", runcId, "/bin/true"), undefined, false).ms },
  ],
  RUNS,
  WARMUP,
);

const row = (name: string, what: string, samples: number[], base: number[]) => [name, what, fmt(median(samples), 2), `${(median(samples) / median(base)).toFixed(2)}x`, String(samples.length)];
printTable(
  "run -d and exec (medians)",
  ["command", "measured", "median ms", "vs runc", "runs"],
  [
    row("mydocker run -d --network none --rootfs R sleep 3600, cold", "until the id is printed, no monitor running", cold.get("mydocker run -d cold")!, cold.get("runc run -d cold")!),
    row("runc run -d --pid-file P (same rootfs)", "until runc returns", cold.get("runc run -d cold")!, cold.get("runc run -d cold")!),
    row("mydocker run -d --network none --rootfs R sleep 3600, steady", "until the id is printed, one other container running", steady.get("mydocker run -d steady")!, steady.get("runc run -d steady")!),
    row("runc run -d --pid-file P (same rootfs)", "until runc returns", steady.get("runc run -d steady")!, steady.get("runc run -d steady")!),
    row("mydocker exec ID /bin/true", "until it exits", exec.get("mydocker exec")!, exec.get("runc exec")!),
    row("runc exec ID /bin/true", "until it exits", exec.get("runc exec")!, exec.get("runc exec")!),
    row("bench/floor --join PID /bin/true (the design's floor)", "until it exits: a Bun process spawning itself into the container's namespaces, which execs", exec.get("floor --join")!, exec.get("runc exec")!),
  ],
  [`${RUNS} runs each (+${WARMUP} warm-up), interleaved; ${MYDOCKER}; rootfs ${ROOTFS}. Removal of each container is outside its time.`],
);
