// How mydocker starts another copy of itself (the container init, later the monitor).
// A compiled binary is its own interpreter; under `bun run src/cli.ts` the script must be named.
export function selfCommand(...args: string[]): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/");
  return compiled ? [process.execPath, ...args] : [process.execPath, Bun.main, ...args];
}

/** The environment a re-executed mydocker gets: nothing of the caller's (see BUN_OPTIONS, BUN_BE_BUN). */
export const CLEAN_ENV: Record<string, string> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
