#!/usr/bin/env bun
// (c) Throughput: N (50) `mydocker run --rm --rootfs R /bin/true` started at once, wall time until
// the last has ended, against N `runc run` of N bundles (unique ids) started at once; several
// rounds, the median. Every start must succeed, or the round does not count. mydocker's get
// `--network none`, the network of runc's bundle (loopback only): no bridge, as runc has none. A
// row for the design's floor (bench/floor/main.ts, N at once) shows what two Bun processes cost.
//
//   bun bench/throughput.ts      env: BENCH_N (50), BENCH_ROUNDS (5), MYDOCKER, ROOTFS,
//                                MYDOCKER_BEFORE (an older build: a row of its own, same rounds)
import { join } from "node:path";
import { buildFloor, fmt, intEnv, makeBundle, median, MYDOCKER, mydockerEnv, onCleanup, preflight, printTable, quiet, ROOTFS, tempDir, timed } from "./lib";

preflight();
const N = intEnv("BENCH_N", 50);
const ROUNDS = intEnv("BENCH_ROUNDS", 5);
const dir = tempDir("throughput");
const env = mydockerEnv(dir);
const runcRoot = join(dir, "runc-state");
const bundles = Array.from({ length: N }, (_, i) => makeBundle(join(dir, `bundle-${i}`), ["/bin/true"]));
const tag = `t${process.pid}`;
// the design's floor, N at once: two Bun processes each, the fewest kernel steps (bench/floor/main.ts)
const floor = buildFloor(join(dir, "floor"));
onCleanup(() => {
  for (const id of timed(["runc", "--root", runcRoot, "list", "-q"]).stdout.split("\n").filter(Boolean)) quiet(["runc", "--root", runcRoot, "delete", "-f", id]);
});

/** Starts every argv at once; the wall time until all have ended, and how many failed. */
async function burst(argvs: string[][], e?: Record<string, string>): Promise<{ ms: number; failed: number; why?: string }> {
  const t0 = performance.now();
  const procs = argvs.map((argv) => Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: e ?? process.env }));
  const codes = await Promise.all(procs.map((p) => p.exited));
  const ms = performance.now() - t0;
  const bad = codes.findIndex((c) => c !== 0);
  return { ms, failed: codes.filter((c) => c !== 0).length, why: bad < 0 ? undefined : (await new Response(procs[bad]!.stderr).text()).trim().slice(0, 200) };
}

const contenders = [
  { name: "mydocker", argvs: () => bundles.map(() => [MYDOCKER, "run", "--rm", "--network", "none", "--rootfs", ROOTFS, "/bin/true"]), env },
  ...(process.env.MYDOCKER_BEFORE ? [{ name: "mydocker before", argvs: () => bundles.map(() => [process.env.MYDOCKER_BEFORE!, "run", "--rm", "--network", "none", "--rootfs", ROOTFS, "/bin/true"]), env }] : []),
  { name: "floor", argvs: () => bundles.map(() => [floor, ROOTFS, "/bin/true"]), env: undefined },
  { name: "runc", argvs: (round: number) => bundles.map((b, i) => ["runc", "--root", runcRoot, "run", "--bundle", b, `${tag}-${round}-${i}`]), env: undefined },
];
const samples = new Map(contenders.map((c) => [c.name, [] as number[]]));
const failures = new Map(contenders.map((c) => [c.name, [] as string[]]));
// a warm-up round (page cache, seccomp cache), then rounds alternating which goes first
for (let round = -1; round < ROUNDS; round++) {
  for (let k = 0; k < contenders.length; k++) {
    const c = contenders[(Math.max(round, 0) + k) % contenders.length]!;
    const r = await burst(c.argvs(round + 1), c.env);
    if (round < 0) continue;
    if (r.failed) failures.get(c.name)!.push(`${r.failed} failed: ${r.why}`);
    else samples.get(c.name)!.push(r.ms);
  }
}
const base = median(samples.get("runc")!);
printTable(
  `${N} containers started at once, /bin/true, wall time until all end (median of ${ROUNDS} rounds)`,
  ["command", "median ms", "per container ms", "vs runc", "rounds ok"],
  [
    [`${N} × mydocker run --rm --network none --rootfs R /bin/true`, fmt(median(samples.get("mydocker")!)), fmt(median(samples.get("mydocker")!) / N, 2), `${(median(samples.get("mydocker")!) / base).toFixed(2)}x`, `${samples.get("mydocker")!.length}/${ROUNDS}`],
    ...(samples.has("mydocker before") ? [[`${N} × mydocker before (MYDOCKER_BEFORE)`, fmt(median(samples.get("mydocker before")!)), fmt(median(samples.get("mydocker before")!) / N, 2), `${(median(samples.get("mydocker before")!) / base).toFixed(2)}x`, `${samples.get("mydocker before")!.length}/${ROUNDS}`]] : []),
    [`${N} × bench/floor ROOTFS /bin/true (the design's floor)`, fmt(median(samples.get("floor")!)), fmt(median(samples.get("floor")!) / N, 2), `${(median(samples.get("floor")!) / base).toFixed(2)}x`, `${samples.get("floor")!.length}/${ROUNDS}`],
    [`${N} × runc run (${N} bundles, same rootfs)`, fmt(base), fmt(base / N, 2), "1.00x", `${samples.get("runc")!.length}/${ROUNDS}`],
  ],
  [...failures].flatMap(([name, f]) => f.map((x) => `${name}: a round failed: ${x}`)),
);
