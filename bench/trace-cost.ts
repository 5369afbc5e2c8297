#!/usr/bin/env bun
// What `--trace` costs when it is off: `run --rm --rootfs R /bin/true` of the tree as it is,
// against the same tree built with the trace compiled out (src/trace.ts replaced by no-ops, and
// ffi/libc.ts handing out its symbols with no recorder check), and with --trace on for scale.
// Both binaries are built here with the Makefile's flags (bytecode, ESM, splitting).
//
//   bun bench/trace-cost.ts      env: BENCH_RUNS (60), BENCH_WARMUP (3), ROOTFS
import { spawnSync } from "bun";
import { cpSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { COMPILE_FLAGS, fmt, interleave, intEnv, median, mydockerEnv, preflight, printTable, ROOT, ROOTFS, tempDir } from "./lib";

preflight();
const RUNS = intEnv("BENCH_RUNS", 60);
const WARMUP = intEnv("BENCH_WARMUP", 3);
const dir = tempDir("trace-cost");
const env = mydockerEnv(dir);

/** The Makefile's two steps: the init's own bundle (INIT_BUNDLE), then the executable. */
function build(tree: string, out: string): string {
  const flags = [...COMPILE_FLAGS, "--splitting"];
  for (const argv of [
    ["bun", "build", "--format=esm", "--target=bun", join(tree, "src/init/init.ts"), "--outfile", join(tree, ".cache/init.js")],
    ["bun", "build", ...flags, join(tree, "src/cli.ts"), "--outfile", out],
  ]) {
    const r = spawnSync(argv, { cwd: tree, stdout: "ignore", stderr: "pipe" });
    if (!r.success) throw new Error(`build ${tree}: ${r.stderr.toString().trim()}`);
  }
  return out;
}

/** A copy of the tree with the trace compiled out. */
function withoutTrace(): string {
  const tree = join(dir, "tree");
  for (const p of ["src", "ffi", "package.json", "tsconfig.json"]) cpSync(join(ROOT, p), join(tree, p), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
  const libc = join(tree, "ffi/libc.ts");
  const text = readFileSync(libc, "utf8");
  const branch = /if \(!recorder\) return syms;\s*return \(traced \?\?= tracedSymbols\(syms\)\);/;
  if (!branch.test(text)) throw new Error("ffi/libc.ts: the recorder branch is not where this script expects it: update bench/trace-cost.ts");
  writeFileSync(libc, text.replace(branch, "return syms;"));
  writeFileSync(join(tree, "src/trace.ts"), `// bench/trace-cost.ts: the trace compiled out
export interface TraceEvent { who: "parent" | "init"; what: string; result: string; start: number; end: number }
export const tracing = () => false;
export function startTrace(_as: TraceEvent["who"]): void {}
export function mark(_what: string, _start: number, _result = "", _end = 0): void {}
export function step<T>(_what: string, fn: () => T): T { return fn(); }
export const now = () => 0;
export const traceEvents = (): TraceEvent[] => [];
export const addEvents = (_more: TraceEvent[]) => {};
export function renderTrace(_format: "table" | "json", _origin = 0): string { return ""; }
export function formatCall(name: string, _args: unknown[]): string { return name; }
`);
  return tree;
}

const asIs = build(ROOT, join(dir, "mydocker"));
const stripped = build(withoutTrace(), join(dir, "mydocker-notrace"));
// wall time, and the CPU time (user + system, from wait4(2): the process and the children it
// reaped, i.e. the init) which the other processes of a shared machine disturb much less
const cpu = new Map<string, number[]>();
const run = (bin: string, name: string, ...extra: string[]) => () => {
  const t0 = performance.now();
  const r = spawnSync([bin, "run", "--rm", ...extra, "--rootfs", ROOTFS, "/bin/true"], { stdin: "ignore", stdout: "ignore", stderr: "ignore", env });
  const ms = performance.now() - t0;
  if (!r.success) throw new Error(`${bin} run: exit ${r.exitCode}`);
  const u = r.resourceUsage!.cpuTime;
  cpu.set(name, [...(cpu.get(name) ?? []), Number(u.user + u.system) / 1000]);
  return ms;
};
const samples = interleave(
  [
    { name: "off", measure: run(asIs, "off") },
    { name: "compiled out", measure: run(stripped, "compiled out") },
    { name: "on", measure: run(asIs, "on", "--trace") },
  ],
  RUNS,
  WARMUP,
);
const base = median(samples.get("compiled out")!);
const cpuBase = median(cpu.get("compiled out")!.slice(WARMUP));
const signed = (n: number) => `${n >= 0 ? "+" : ""}${fmt(n, 2)}`;
const row = (what: string, name: string) => {
  const wall = median(samples.get(name)!);
  const c = median(cpu.get(name)!.slice(WARMUP));
  return [what, fmt(wall, 2), signed(wall - base), fmt(c, 2), signed(c - cpuBase), String(samples.get(name)!.length)];
};
printTable(
  "the cost of --trace (run --rm --rootfs R /bin/true, medians)",
  ["build", "wall ms", "vs compiled out", "CPU ms (user+sys)", "vs compiled out", "runs"],
  [row("trace compiled out", "compiled out"), row("as built, --trace off", "off"), row("as built, --trace on (table to stderr)", "on")],
  [`${RUNS} runs each (+${WARMUP} warm-up), interleaved; both binaries built from the working tree with the Makefile's flags.`],
);
