// `mydocker ps [-a] [-q] [--format json]`: containers, their status read from the live processes.
import { defineCommand } from "citty";
import { listLive } from "../state/live";
import type { ContainerState } from "../state/store";
import { parseCommand } from "./args";
import { ago, humanDuration, shortCommand, table } from "../format";

const args = {
  all: { type: "boolean", alias: "a", description: "Show all containers (default: running ones)" },
  quiet: { type: "boolean", alias: "q", description: "Only ids" },
  format: { type: "string", valueHint: "json", description: "json: one object per line" },
} as const;

export function statusText(s: ContainerState, now = Date.now()): string {
  switch (s.status) {
    case "created":
      return "Created";
    case "running":
      return `Up ${humanDuration(now - Date.parse(s.started ?? s.created))}`;
    case "paused":
      return `Up ${humanDuration(now - Date.parse(s.started ?? s.created))} (Paused)`;
    case "exited":
      return `Exited (${s.exitCode ?? "unknown"}) ${ago(s.finished ?? s.created, now)}`;
    case "dead":
      return "Dead"; // the reason: `mydocker inspect`
  }
}

export default defineCommand({
  meta: { name: "ps", description: "List containers" },
  args,
  async run({ rawArgs }) {
    const { options } = parseCommand("ps", rawArgs, args, 0, "");
    const shown = listLive().filter((s) => options.all || s.status === "running" || s.status === "paused");
    if (options.quiet) return void shown.forEach((s) => console.log(s.id.slice(0, 12)));
    if (options.format === "json") {
      for (const s of shown) {
        console.log(JSON.stringify({ ID: s.id.slice(0, 12), Image: s.image, Command: s.command.join(" "), CreatedAt: s.created, State: s.status, Status: statusText(s), Names: s.name, ExitCode: s.exitCode ?? null }));
      }
      return;
    }
    const rows = shown.map((s) => [s.id.slice(0, 12), s.image, shortCommand(s.command), ago(s.created), statusText(s), s.name]);
    console.log(table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"], rows));
  },
});
