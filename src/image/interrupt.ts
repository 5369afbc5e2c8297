// Long image commands (import, load, save, commit) and signals: SIGINT, SIGTERM or SIGHUP ends
// the command at once, with 128+N, after removing what it was writing.
//
// Bun runs a signal's JavaScript handlers from its event loop. A loop that only ever awaits
// settled promises (an async generator over synchronous reads, a `for await` over it) runs as one
// chain of microtasks and never returns to the event loop: the handlers wait until the loop ends,
// which for /dev/zero is never (measured: a pending SIGTERM waited 10 minutes). Such loops call
// `breathe()` once per chunk; it gives the event loop a turn every few milliseconds.

const BREATHE_MS = 20;
let last = performance.now();

/** Lets pending signals (and other events) run if the last turn was more than BREATHE_MS ago. */
export async function breathe(): Promise<void> {
  const now = performance.now();
  if (now - last < BREATHE_MS) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  last = performance.now();
}

const cleanups = new Set<() => void>();
let installed = false;

function runCleanups(): void {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    try {
      fn();
    } catch {}
  }
}

/**
 * Runs `cleanup` if the process ends before `release` is called: on SIGINT, SIGTERM or SIGHUP
 * (then exits 128+N) and on any other exit. Returns `release`.
 */
export function onInterrupt(cleanup: () => void): () => void {
  if (!installed) {
    installed = true;
    for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
      process.on(sig, () => process.exit(code)); // exit handlers below run on the way out
    }
    process.on("exit", runCleanups);
  }
  cleanups.add(cleanup);
  return () => void cleanups.delete(cleanup);
}
