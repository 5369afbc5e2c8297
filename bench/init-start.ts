#!/usr/bin/env bun
// What `mydocker init` costs before its first step: the time from spawn to exit of an init whose
// fd 3 is an empty file (it reads no orders and exits 125 without a word; an init that failed
// instead writes its error there, and the variant is reported as failing), against a compiled Bun
// hello-world and `mydocker --version`, and with JavaScriptCore options given in the environment
// (BUN_JSC_*), to find what helps a process that lives a few milliseconds.
//
//   bun bench/init-start.ts      env: BENCH_RUNS (100), BENCH_WARMUP (5), MYDOCKER
//   INIT_ENVS='A=1 B=0;C=1' adds variants (';' between variants, ' ' between variables)
import { spawnSync } from "bun";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fmt, interleave, intEnv, median, MYDOCKER, preflight, printTable, tempDir } from "./lib";
import { CLEAN_ENV, INIT_ENV } from "../src/engine/self";

preflight();
const RUNS = intEnv("BENCH_RUNS", 100);
const WARMUP = intEnv("BENCH_WARMUP", 5);
const dir = tempDir("init-start");
writeFileSync(join(dir, "hello.ts"), 'console.log("hi");\n');
const hello = join(dir, "hello");
const b = spawnSync(["bun", "build", "--compile", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig", "--bytecode", "--format=esm", join(dir, "hello.ts"), "--outfile", hello], { stdout: "ignore", stderr: "pipe" });
if (!b.success) throw new Error(`build hello: ${b.stderr}`);
const orders = join(dir, "orders");
writeFileSync(orders, "");
const empty = openSync(orders, "r+");

/**
 * The init's environment today (src/engine/self.ts INIT_ENV), and variants to try. (Only what
 * happens before the init's first step: JIT options act later, on hot functions; compare whole
 * starts of two builds for those, bench/start.ts with MYDOCKER_BEFORE.)
 */
const BASE = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
const variants: Record<string, Record<string, string>> = {
  "init, INIT_ENV (today)": INIT_ENV,
  "init, CLEAN_ENV (JIT threads off, the JIT on)": CLEAN_ENV,
  "init, PATH only": BASE,
  // (useJIT=0 fails: "bun:ffi requires the JIT")
};
for (const v of (process.env.INIT_ENVS ?? "").split(";").filter(Boolean)) {
  variants[`init, INIT_ENV + ${v}`] = { ...INIT_ENV, ...Object.fromEntries(v.split(" ").map((kv) => kv.split("=") as [string, string])) };
}

function time(argv: string[], env: Record<string, string>, fd3?: number): number {
  const t0 = performance.now();
  const r = spawnSync(argv, { stdio: fd3 === undefined ? ["ignore", "ignore", "ignore"] : ["ignore", "ignore", "ignore", fd3], env } as any);
  const ms = performance.now() - t0;
  const said = fd3 === undefined ? "" : readFileSync(orders, "utf8");
  if ((r.exitCode !== 0 && r.exitCode !== 125) || said) throw new Error(`${argv.join(" ")} (${Object.keys(env).join(" ")}): exit ${r.exitCode} ${said}`);
  return ms;
}

const contenders = [
  { name: "compiled Bun hello-world", measure: () => time([hello], BASE) },
  { name: "mydocker --version", measure: () => time([MYDOCKER, "--version"], BASE) },
  ...Object.entries(variants).map(([name, env]) => ({ name, measure: () => time([MYDOCKER, "init"], env, empty) })),
];
const samples = interleave(contenders, RUNS, WARMUP);
const base = median(samples.get("compiled Bun hello-world")!);
printTable(
  "spawn to exit: a bare Bun start, the CLI, the init before its first step (medians)",
  ["process", "median ms", "over hello-world ms"],
  contenders.map((c) => [c.name, fmt(median(samples.get(c.name)!), 2), fmt(median(samples.get(c.name)!) - base, 2)]),
  [`${RUNS} runs each (+${WARMUP} warm-up), interleaved; ${MYDOCKER}.`],
);
