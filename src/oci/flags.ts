// runc's command-line shape: `RUNTIME [global flags] COMMAND [flags] ARGS...`. Flags come before
// the positional arguments (`exec ID CMD -la`: `-la` is the command's); `--x v`, `--x=v`, and the
// single-dash long forms (`-bundle`) that urfave/cli accepts, as runc does.
import { OciError } from "./store";

export interface FlagDef {
  alias?: string;
  /** takes a value (else a boolean) */
  value?: boolean;
  /** may repeat (values collect in an array) */
  list?: boolean;
  /** takes a value only as `--x=v`; a bare `--x` is "" (never takes the next word: `--trace ID`) */
  optionalValue?: boolean;
}

export type Flags = Record<string, string | boolean | string[] | undefined>;

export function parseFlags(argv: string[], defs: Record<string, FlagDef>, command: string): { flags: Flags; args: string[] } {
  const names = new Map<string, string>();
  for (const [name, d] of Object.entries(defs)) {
    names.set(name, name);
    if (d.alias) names.set(d.alias, name);
  }
  const flags: Flags = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    const eq = arg.indexOf("=");
    const spelled = (eq > 0 ? arg.slice(0, eq) : arg).replace(/^--?/, "");
    const name = names.get(spelled);
    if (!name) throw new OciError(`${command}: flag provided but not defined: -${spelled}`);
    const d = defs[name]!;
    let value: string | boolean;
    if (d.optionalValue) {
      value = eq > 0 ? arg.slice(eq + 1) : "";
    } else if (d.value) {
      if (eq > 0) value = arg.slice(eq + 1);
      else if (i + 1 < argv.length) value = argv[++i]!;
      else throw new OciError(`${command}: flag needs an argument: -${spelled}`);
    } else {
      const text = eq > 0 ? arg.slice(eq + 1) : "true";
      if (text !== "true" && text !== "false") throw new OciError(`${command}: invalid boolean value "${text}" for -${spelled}`);
      value = text === "true";
    }
    if (d.list) flags[name] = [...((flags[name] as string[]) ?? []), value as string];
    else flags[name] = value;
  }
  return { flags, args: argv.slice(i) };
}

export const str = (f: Flags, name: string) => f[name] as string | undefined;
