// `mydocker system df|prune|info`: dispatches to system-df.ts, prune.ts and info.ts.
import { defineCommand, renderUsage, type CommandDef } from "citty";
import { FlagError, splitArgs } from "../cli/argv";

const verbs: Record<string, () => Promise<CommandDef<any>>> = {
  df: () => import("./system-df").then((m) => m.default),
  info: () => import("./info").then((m) => m.default),
  prune: () => import("./prune").then((m) => m.systemPrune),
};

export default defineCommand({
  meta: { name: "system", description: "Manage mydocker: df (disk usage), prune (remove unused data), info" },
  args: { verb: { type: "positional", required: true, description: "df | prune | info" } },
  async run({ rawArgs }) {
    const [verb, ...rest] = rawArgs;
    const load = verbs[verb ?? ""];
    if (!load) throw new FlagError(`unknown system command "${verb ?? ""}": use df, prune or info`);
    const cmd = await load();
    if (splitArgs(rest, (cmd.args ?? {}) as any).help) return void console.log(await renderUsage(cmd));
    await cmd.run!({ rawArgs: rest, args: { _: [] } as any, cmd });
  },
});
