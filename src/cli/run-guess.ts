// What a `mydocker run` command line asks of its container's init process, read from the bare
// argv before the CLI and its flag tables are loaded (src/engine/head-start.ts spawns the init on
// it). Only a guess: `run` checks it against its real parse, and a wrong guess costs one init
// spawned for nothing, never a different container. It answers only when it understood every
// flag before IMAGE/COMMAND; else undefined.
import type { StdioPlan } from "../engine/spawn-init";

export interface InitGuess {
  stdio: StdioPlan;
  /** the init is born in a network namespace of its own (a bridge network) */
  bridge: boolean;
  /** --trace was given */
  trace: boolean;
}

// Which of run's flags take no value: every other one takes one, except --trace's optional
// `=json`. test/unit/run-guess.test.ts holds these to run's own table (src/commands/run.ts).
export const RUN_BOOLEANS = new Set(["detach", "d", "rm", "interactive", "i", "tty", "t", "read-only", "privileged", "init", "sig-proxy", "publish-all", "P"]);
export const RUN_OPTIONAL_VALUES = new Set(["trace"]);
const GLOBAL_VALUES = new Set(["log-level", "log-format", "root", "data-root"]);
// the spellings of the flags the guess reads (run's aliases)
const CANONICAL: Record<string, string> = { d: "detach", i: "interactive", t: "tty", net: "network" };
const canonical = (name: string) => CANONICAL[name] ?? name;

/** The guess for `argv` (the words after the executable), or undefined: not a foreground run, or unsure. */
export function guessForegroundInit(argv: string[]): InitGuess | undefined {
  let i = 0;
  // global flags, then the command
  for (; i < argv.length && argv[i]!.startsWith("--"); i++) {
    const [name, inline] = splitFlag(argv[i]!.slice(2));
    if (!GLOBAL_VALUES.has(name)) return undefined;
    if (inline === undefined) i++;
  }
  if (argv[i] !== "run") return undefined;
  const flags: Record<string, string | boolean> = {};
  for (i++; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--" || arg === "-" || !arg.startsWith("-")) break;
    if (arg === "--help") return undefined;
    if (arg.startsWith("--")) {
      const [spelled, inline] = splitFlag(arg.slice(2));
      const name = canonical(spelled);
      if (RUN_OPTIONAL_VALUES.has(name)) flags[name] = inline ?? "";
      else if (RUN_BOOLEANS.has(name)) {
        if (inline !== undefined && inline !== "true" && inline !== "false") return undefined;
        flags[name] = inline !== "false";
      } else {
        if (inline === undefined && ++i >= argv.length) return undefined;
        flags[name] = inline ?? argv[i]!;
      }
    } else if (arg.length === 2) {
      // -t; or a short flag with a value in the next word (-e A=1)
      const short = arg[1]!;
      if (RUN_BOOLEANS.has(short)) flags[canonical(short)] = true;
      else if (++i >= argv.length) return undefined;
      else flags[canonical(short)] = argv[i]!;
    } else if ([...arg.slice(1)].every((c) => RUN_BOOLEANS.has(c))) {
      for (const c of arg.slice(1)) flags[canonical(c)] = true; // -ti, -dit
    } else return undefined; // -m100m, -cpushare 512: not worth knowing here
  }
  if (i >= argv.length) return undefined; // no COMMAND: the real parse says so
  if (flags.detach === true || "pid" in flags) return undefined;
  const tty = flags.tty === true;
  const interactive = flags.interactive === true;
  const network = String(flags.network ?? "bridge");
  const bridge = network !== "none" && network !== "host" && !network.startsWith("container:") && network !== "";
  return { stdio: tty ? ["ignore", "ignore", "ignore"] : [interactive ? "inherit" : "ignore", "pipe", "pipe"], bridge, trace: "trace" in flags };
}

function splitFlag(word: string): [name: string, inline: string | undefined] {
  const eq = word.indexOf("=");
  return eq > 0 ? [word.slice(0, eq), word.slice(eq + 1)] : [word, undefined];
}
