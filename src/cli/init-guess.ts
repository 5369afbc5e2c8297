// What a `mydocker run` or `mydocker exec` command line asks of the init process it spawns, read
// from the bare argv before the CLI and its flag tables are loaded (src/engine/head-start.ts
// spawns the init on it). Only a guess: the command checks it against its real parse, and a
// wrong guess costs one init spawned for nothing, never a different container or process. It
// answers only when it understood every flag before the first positional word; else undefined.
import type { StdioPlan } from "../engine/spawn-init";

export interface RunGuess {
  stdio: StdioPlan;
  /** the init is born in a network namespace of its own (a bridge network) */
  bridge: boolean;
  /** --trace was given */
  trace: boolean;
}

export interface ExecGuess {
  stdio: StdioPlan;
  /** the container, as the user named it (a name, an id or an id prefix) */
  container: string;
  /** the global --root, if given */
  root?: string;
  trace: boolean;
}

/** A command's flags as the guess needs them: which take no value, which an optional `=value`. */
interface FlagTable {
  booleans: Set<string>;
  optionalValues: Set<string>;
}

// Held to the commands' own tables (src/commands/run.ts, exec.ts) by test/unit/init-guess.test.ts.
// Every flag not named here takes a value.
export const RUN_FLAGS: FlagTable = {
  booleans: new Set(["detach", "d", "rm", "interactive", "i", "tty", "t", "read-only", "privileged", "init", "sig-proxy", "publish-all", "P"]),
  optionalValues: new Set(["trace"]),
};
export const EXEC_FLAGS: FlagTable = {
  booleans: new Set(["detach", "d", "interactive", "i", "tty", "t"]),
  optionalValues: new Set(["trace"]),
};
const GLOBAL_VALUES = new Set(["log-level", "log-format", "root", "data-root"]);
// the spellings of the flags the guess reads (the commands' aliases)
const CANONICAL: Record<string, string> = { d: "detach", i: "interactive", t: "tty", net: "network" };
const canonical = (name: string) => CANONICAL[name] ?? name;

/** The guess for a foreground `run` (argv: the words after the executable), or undefined. */
export function guessForegroundInit(argv: string[]): RunGuess | undefined {
  const read = readCommandLine(argv, "run", RUN_FLAGS);
  if (!read || read.rest.length === 0) return undefined; // no COMMAND: the real parse says so
  const { flags } = read;
  if (flags.detach === true || "pid" in flags) return undefined;
  const network = String(flags.network ?? "bridge");
  const bridge = network !== "none" && network !== "host" && !network.startsWith("container:") && network !== "";
  const stdio: StdioPlan = flags.tty === true ? ["ignore", "ignore", "ignore"] : [flags.interactive === true ? "inherit" : "ignore", "pipe", "pipe"];
  return { stdio, bridge, trace: "trace" in flags };
}

/** The guess for `exec`, or undefined. */
export function guessExecInit(argv: string[]): ExecGuess | undefined {
  const read = readCommandLine(argv, "exec", EXEC_FLAGS);
  if (!read || read.rest.length < 2) return undefined;
  const { flags } = read;
  const quiet = flags.tty === true || flags.detach === true;
  const stdio: StdioPlan = quiet ? ["ignore", "ignore", "ignore"] : [flags.interactive === true ? "inherit" : "ignore", "inherit", "inherit"];
  return { stdio, container: read.rest[0]!, root: read.globals.root, trace: "trace" in flags };
}

interface CommandLine {
  globals: Record<string, string>;
  flags: Record<string, string | boolean>;
  rest: string[];
}

/** Global flags, `command`, its flags (canonical names) and the words after them; undefined when unsure. */
function readCommandLine(argv: string[], command: string, table: FlagTable): CommandLine | undefined {
  const globals: Record<string, string> = {};
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith("--"); i++) {
    const [name, inline] = splitFlag(argv[i]!.slice(2));
    if (!GLOBAL_VALUES.has(name)) return undefined;
    if (inline === undefined && ++i >= argv.length) return undefined;
    globals[name] = inline ?? argv[i]!;
  }
  if (argv[i] !== command) return undefined;
  const flags: Record<string, string | boolean> = {};
  for (i++; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) break;
    if (arg === "--help") return undefined;
    if (arg.startsWith("--")) {
      const [spelled, inline] = splitFlag(arg.slice(2));
      const name = canonical(spelled);
      if (table.optionalValues.has(spelled)) flags[name] = inline ?? "";
      else if (table.booleans.has(spelled)) {
        if (inline !== undefined && inline !== "true" && inline !== "false") return undefined;
        flags[name] = inline !== "false";
      } else {
        if (inline === undefined && ++i >= argv.length) return undefined;
        flags[name] = inline ?? argv[i]!;
      }
    } else if (arg.length === 2) {
      // -t; or a short flag with a value in the next word (-e A=1)
      const short = arg[1]!;
      if (table.booleans.has(short)) flags[canonical(short)] = true;
      else if (++i >= argv.length) return undefined;
      else flags[canonical(short)] = argv[i]!;
    } else if ([...arg.slice(1)].every((c) => table.booleans.has(c))) {
      for (const c of arg.slice(1)) flags[canonical(c)] = true; // -ti, -dit
    } else return undefined; // -m100m, -cpushare 512: not worth knowing here
  }
  return { globals, flags, rest: argv.slice(i) };
}

function splitFlag(word: string): [name: string, inline: string | undefined] {
  const eq = word.indexOf("=");
  return eq > 0 ? [word.slice(0, eq), word.slice(eq + 1)] : [word, undefined];
}
