#!/usr/bin/env bun
// What a network costs a start: `mydocker run --rm /bin/true` with --network none (lo only, as
// runc's default bundle), on the default bridge (veth pair, address, route: the default), and on
// the bridge with a published port (an nftables transaction at start and at exit). Side by side,
// round-robin with the first variant rotating each round; medians of BENCH_RUNS rounds.
//
//   bun bench/network.ts          # or: make bench
//   BENCH_RUNS=30 MYDOCKER=/path/to/mydocker bun bench/network.ts
// Writes bench/out/network.json. Uses a data root and runtime root of its own, removed after.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const MYDOCKER = resolve(ROOT, process.env.MYDOCKER ?? "mydocker");
const scratch = mkdtempSync(join(tmpdir(), "mydocker-bench-net-"));
const env = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", MYDOCKER_ROOT: join(scratch, "run"), MYDOCKER_DATA_ROOT: join(scratch, "data"), MYDOCKER_ROOTFS: join(ROOT, "rootfs") };

const variants = [
  { name: "--network none", args: ["--network", "none"] },
  { name: "default bridge", args: [] },
  { name: "bridge + -p 18999:80", args: ["-p", "18999:80"] },
];

function once(args: string[]): number {
  const t0 = performance.now();
  const r = Bun.spawnSync([MYDOCKER, "run", "--rm", ...args, "/bin/true"], { env, stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`mydocker run ${args.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString().trim()}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  for (const v of variants) once(v.args); // warm-up; the first start on the bridge makes it
  const samples = variants.map(() => [] as number[]);
  for (let round = 0; round < RUNS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (round + k) % variants.length;
      samples[i]!.push(once(variants[i]!.args));
    }
  }
  const base = median(samples[0]!);
  const rows = variants.map((v, i) => ({ variant: v.name, medianMs: +median(samples[i]!).toFixed(1), overNoneMs: +(median(samples[i]!) - base).toFixed(1) }));
  console.log(`\n### Network cost of a start (${new Date().toISOString().slice(0, 10)}, medians of ${RUNS} interleaved rounds)\n`);
  console.log("| variant | median ms | over `--network none` |\n| --- | ---: | ---: |");
  for (const r of rows) console.log(`| ${r.variant} | ${r.medianMs} | ${r.overNoneMs >= 0 ? "+" : ""}${r.overNoneMs} |`);
  mkdirSync(join(ROOT, "bench/out"), { recursive: true });
  writeFileSync(join(ROOT, "bench/out/network.json"), JSON.stringify({ date: new Date().toISOString(), runs: RUNS, rows }, null, 2));
} finally {
  Bun.spawnSync([MYDOCKER, "network", "rm", "bridge"], { env, stdout: "ignore", stderr: "ignore" });
  rmSync(scratch, { recursive: true, force: true });
}
