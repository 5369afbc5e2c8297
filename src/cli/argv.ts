// Splits a command line into the command's options and everything after its first positional
// argument, which passes through untouched (docker's rule: options stop at IMAGE/COMMAND, so in
// `run sh -c "ls -la"` the `-c` and `-la` belong to sh). Option names come from citty's ArgsDef.
import type { ArgsDef } from "citty";
import { FlagError, TemplateError, UsageError } from "../errors";
export { FlagError, UsageError };

/** Whether `e` is a usage error in docker's sense (exit 125). */
export const isFlagError = (e: unknown): boolean => e instanceof FlagError || e instanceof TemplateError;


export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface Split {
  options: OptionValues;
  /** the first positional argument and all that follows */
  rest: string[];
  help: boolean;
}

/** Options that may repeat (`-e A=1 -e B=2`) are marked in the ArgsDef with `valueHint: "...list"`. */
const isList = (d: ArgsDef[string]) => d.valueHint?.endsWith("...") ?? false;

export function splitArgs(argv: string[], def: ArgsDef): Split {
  const byName = new Map<string, string>(); // spelling -> canonical name
  for (const [name, d] of Object.entries(def)) {
    if (d.type === "positional") continue;
    byName.set(name, name);
    for (const a of [("alias" in d && d.alias) || []].flat()) byName.set(a, name);
  }
  const options: OptionValues = {};
  const takesValue = (name: string) => def[name]!.type === "string" || def[name]!.type === "enum";
  const set = (name: string, value: string | boolean) => {
    if (isList(def[name]!)) options[name] = [...((options[name] as string[]) ?? []), value as string];
    else options[name] = value;
  };
  let help = false;
  let i = 0;
  const valueFor = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: ${flag}`);
    return argv[++i]!;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    if (arg === "--help") {
      help = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const spelled = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    // --long, or the book's single-dash long spellings (-cpushare 512)
    const long = spelled.startsWith("--") ? spelled.slice(2) : spelled.length > 2 ? spelled.slice(1) : undefined;
    const longName = long !== undefined ? byName.get(long) : undefined;
    if (longName && (spelled.startsWith("--") || long!.length > 1)) {
      // a value that may be left out (`--trace`, `--trace=json`): its valueHint is "[=...]"
      const optional = def[longName]!.valueHint?.startsWith("[=") && inline === undefined;
      set(longName, optional ? "" : takesValue(longName) ? valueFor(spelled, inline) : parseBool(spelled, inline));
      continue;
    }
    if (spelled.startsWith("--")) throw new FlagError(`unknown flag: ${spelled}`);
    // a cluster of short flags: -ti, -it, -m100m
    const cluster = arg.slice(1);
    for (let c = 0; c < cluster.length; c++) {
      const name = byName.get(cluster[c]!);
      if (!name) throw new FlagError(`unknown shorthand flag: '${cluster[c]}' in ${arg}`);
      if (takesValue(name)) {
        const tail = cluster.slice(c + 1).replace(/^=/, "");
        set(name, tail !== "" ? tail : valueFor(`-${cluster[c]}`, undefined));
        break;
      }
      set(name, true);
    }
  }
  return { options, rest: argv.slice(i), help };
}

function parseBool(flag: string, inline: string | undefined): boolean {
  if (inline === undefined || inline === "true") return true;
  if (inline === "false") return false;
  throw new FlagError(`invalid boolean value "${inline}" for ${flag}`);
}
