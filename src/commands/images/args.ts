// Options may come before, between or after the positional arguments of the image commands
// (`rmi IMAGE -f`, as docker allows); each stretch is split by splitArgs. After "--" all is positional.
import type { ArgsDef } from "citty";
import { FlagError, splitArgs, type OptionValues } from "../../cli/argv";

export function parseArgs(rawArgs: string[], def: ArgsDef): { options: OptionValues; positionals: string[] } {
  const options: OptionValues = {};
  const positionals: string[] = [];
  let args = rawArgs;
  while (args.length) {
    const { options: o, rest } = splitArgs(args, def);
    for (const [k, v] of Object.entries(o)) {
      options[k] = Array.isArray(v) && Array.isArray(options[k]) ? [...(options[k] as string[]), ...v] : v;
    }
    if (rest.length === 0) break;
    if (args[args.length - rest.length - 1] === "--") {
      positionals.push(...rest);
      break;
    }
    positionals.push(rest[0]!);
    args = rest.slice(1);
  }
  return { options, positionals };
}

/** Throws docker's `"CMD" requires ... argument(s).` line when the count is off. */
export function expectCount(command: string, usage: string, got: string[], min: number, max = Infinity): void {
  if (got.length >= min && got.length <= max) return;
  const what = min === max ? `exactly ${min}` : got.length < min ? `at least ${min}` : `at most ${max}`;
  throw new FlagError(`"${command}" requires ${what} argument${(got.length < min ? min : max) === 1 ? "" : "s"}: ${usage}`);
}
