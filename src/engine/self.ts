// How mydocker starts another copy of itself (the container init, later the monitor).
// A compiled binary is its own interpreter; under `bun run src/cli.ts` the script must be named.
export function selfCommand(...args: string[]): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/");
  return compiled ? [process.execPath, ...args] : [process.execPath, Bun.main, ...args];
}

/**
 * The environment a re-executed mydocker gets: nothing of the caller's (BUN_OPTIONS, BUN_BE_BUN
 * and friends change what the binary does). The init runs a few milliseconds of JS and then
 * execve(2)s: JavaScriptCore's concurrent JIT and GC threads only cost it time to start and,
 * at execve, to be torn down (about 6 ms a container start, measured with bench/).
 */
export const CLEAN_ENV: Record<string, string> = {
  PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
  BUN_JSC_useConcurrentJIT: "0",
  BUN_JSC_useConcurrentGC: "0",
};

/**
 * The init's environment: CLEAN_ENV, and its JavaScript left to JavaScriptCore's interpreter.
 * Without concurrent JIT threads, each function that got hot enough to compile (a handful: the C
 * string and errno helpers of ffi/, called for every syscall) was compiled on the init's only
 * thread, Baseline then DFG: ~3.4 ms of a start in a slow hour (BUN_JSC_reportCompileTimes),
 * for code that runs a few hundred times and is gone at execve. Side by side, 120 rounds: run
 * --rm 95.3 -> 91.2 ms, CPU 124.9 -> 121.0 ms (README, Performance). (useJIT=0 is not an option:
 * bun:ffi needs the JIT.)
 */
export const INIT_ENV: Record<string, string> = { ...CLEAN_ENV, BUN_JSC_useBaselineJIT: "0" };

/**
 * The monitor's environment: the init's, in the interpreter too. It stays as long as its containers, but what it
 * does for each (a start, an exit, a chunk of output) is little, and with the JIT it compiled
 * enough to touch ~5 MB more of the executable's code (the compilers') and of heap: with 20
 * detached containers its PSS was 42.4-42.9 MiB, now 37.7-38.1 (2.12-2.14 -> 1.89-1.91 MiB per
 * container; bench/resident.ts). `run -d` takes the same time (87.9 and 88.1 ms, 60 interleaved
 * rounds); relaying 200,000 log lines costs it 480-520 ms of CPU instead of 400-420.
 */
export const MONITOR_ENV: Record<string, string> = INIT_ENV;

/**
 * `monitor ID --when-recorded [PLAN]`: wait for one byte on fd 4 before reading the record
 * (`run -d`). PLAN (JSON, an EarlyInitPlan) lets the monitor spawn the container's init first,
 * so that the init's Bun starts while the monitor waits for the record.
 */
export const WHEN_RECORDED_FLAG = "--when-recorded";

/** How a detached container's init is spawned: its stdio, and whether it is born in a network namespace of its own (a bridge). */
export interface EarlyInitPlan {
  stdio: ["ignore" | "pipe", "ignore" | "pipe", "ignore" | "pipe"];
  bridge: boolean;
}

/** A detached container's stdio: a terminal of its own (-t), else pipes to its monitor (stdin with -i). */
export const detachedStdio = (tty: boolean, interactive: boolean): EarlyInitPlan["stdio"] => (tty ? ["ignore", "ignore", "ignore"] : [interactive ? "pipe" : "ignore", "pipe", "pipe"]);
/** The fd on which a monitor spawned ahead of its container's record waits for the go. */
export const WHEN_RECORDED_FD = 4;
