// Option parsing shared by the container commands: options first, then positionals.
import type { ArgsDef } from "citty";
import { splitArgs, UsageError, type OptionValues } from "../cli/argv";

export function parseCommand(command: string, rawArgs: string[], def: ArgsDef, minPositionals: number, usage: string): { options: OptionValues; positionals: string[] } {
  const { options, rest } = splitArgs(rawArgs, def);
  if (rest.length < minPositionals) throw new UsageError(`"${command}" requires at least ${minPositionals} argument${minPositionals > 1 ? "s" : ""}: ${usage}`);
  return { options, positionals: rest };
}
