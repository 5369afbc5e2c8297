// mydocker's command table and dispatcher. Subcommands load lazily; each parses its own options
// with splitArgs, so everything after a container's COMMAND stays untouched.
import { defineCommand, renderUsage, type CommandDef } from "citty";
import { isFlagError, splitArgs, UsageError } from "./argv";
import { InvalidValue } from "../units";
import { configureLog, log } from "../log";
import { setRoots } from "../paths";
import { imageCommands } from "../commands/images";
import { lifecycleCommands } from "../commands/lifecycle";
import { VERSION } from "../version";


const subCommands: Record<string, () => Promise<CommandDef<any>>> = {
  run: () => import("../commands/run").then((m) => m.default),
  create: () => import("../commands/create").then((m) => m.default),
  network: () => import("../commands/network").then((m) => m.default),
  port: () => import("../commands/port").then((m) => m.default),
  ...lifecycleCommands,
  ...imageCommands,
};

const globalArgs = {
  "log-level": { type: "string", valueHint: "info", description: "error, warn, info, debug" },
  "log-format": { type: "string", valueHint: "text", description: "text or json" },
  root: { type: "string", valueHint: "/run/mydocker", description: "Container state directory ($MYDOCKER_ROOT)" },
  "data-root": { type: "string", valueHint: "/var/lib/mydocker", description: "Images, layers and volumes ($MYDOCKER_DATA_ROOT)" },
  version: { type: "boolean", alias: "v", description: "Print the version" },
} as const;

export const mainCommand = defineCommand({
  meta: { name: "mydocker", version: VERSION, description: "A small container runtime on Bun" },
  args: globalArgs,
  subCommands,
});

/**
 * Exit status of errors, as docker's CLI: 125 for a command line that does not parse, for every
 * command (an unknown command itself exits 1, as docker's); run and create also use 125 for their own failures, so the container's codes stay
 * readable; the other commands exit 1 when the work fails.
 */
const exitCodeOf = (e: unknown, command: string | undefined) => (isFlagError(e) || command === "run" || command === "create" ? 125 : 1);

export async function main(argv: string[]): Promise<void> {
  let command: string | undefined;
  try {
    const { options, rest, help } = splitArgs(argv, globalArgs);
    command = rest[0];
    configureLog({ level: options["log-level"] as string, format: options["log-format"] as string });
    setRoots({ root: options.root as string | undefined, dataRoot: options["data-root"] as string | undefined });
    if (options.version) return void console.log(`mydocker version ${VERSION}`);
    const [name, ...args] = rest;
    if (!name || help) return void console.log(await renderUsage(mainCommand));
    const load = subCommands[name];
    if (!load) throw new UsageError(`unknown command "${name}" (see mydocker --help)`);
    const cmd = await load();
    const own = splitArgs(args, (cmd.args ?? {}) as any);
    if (own.help) return void console.log(await renderUsage(cmd, mainCommand));
    await cmd.run!({ rawArgs: args, args: { _: [] } as any, cmd });
  } catch (e) {
    fail(e, exitCodeOf(e, command));
  }
}

function fail(e: unknown, exitCode: number): never {
  const known = e instanceof UsageError || e instanceof InvalidValue || (e as Error)?.name === "SyscallError";
  const message = e instanceof Error ? e.message : String(e);
  log().error(message);
  if (!known && e instanceof Error && e.stack) log().debug(e.stack);
  process.exit(exitCode);
}
