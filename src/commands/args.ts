// Option parsing shared by the container commands: options may stand before, between or after
// the positional arguments (`rm web -f`, as docker allows); see images/args.ts.
import type { ArgsDef } from "citty";
import { FlagError, type OptionValues } from "../cli/argv";
import { parseArgs } from "./images/args";

export function parseCommand(command: string, rawArgs: string[], def: ArgsDef, minPositionals: number, usage: string): { options: OptionValues; positionals: string[] } {
  const { options, positionals } = parseArgs(rawArgs, def);
  if (positionals.length < minPositionals) throw new FlagError(`"${command}" requires at least ${minPositionals} argument${minPositionals > 1 ? "s" : ""}: ${usage}`);
  return { options, positionals };
}
