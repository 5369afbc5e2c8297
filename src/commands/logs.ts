// `mydocker logs [-f] [--tail N] [-t] NAME`: what a detached container wrote, stdout and stderr in order.
import { defineCommand } from "citty";
import { FlagError, UsageError } from "../cli/argv";
import { readLogEntries, type LogEntry } from "../containers/logs";
import { findLive, monitorAlive } from "../state/live";
import { logPath, readState } from "../state/store";
import { parseCommand } from "./args";

const args = {
  follow: { type: "boolean", alias: "f", description: "Follow the output until the container ends" },
  tail: { type: "string", valueHint: "N", description: "Only the last N lines" },
  timestamps: { type: "boolean", alias: "t", description: "Show the time of each line" },
} as const;

export default defineCommand({
  meta: { name: "logs", description: "Show a container's output" },
  args: { ...args, container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("logs", rawArgs, args, 1, "CONTAINER");
    const state = findLive(positionals[0]!);
    if (!state.detached) throw new UsageError(`container ${state.name} was not started with -d: its output went to the terminal`);
    const tail = options.tail === undefined || options.tail === "all" ? Infinity : Number(options.tail);
    if (!(tail >= 0)) throw new FlagError(`invalid --tail "${options.tail}": expected a number or "all"`);
    const print = (e: LogEntry) => (e.stream === "stdout" ? process.stdout : process.stderr).write(options.timestamps ? `${e.time} ${e.log}` : e.log);
    let { entries, next } = readLogEntries(logPath(state.id));
    entries.slice(Math.max(0, entries.length - tail)).forEach(print);
    if (!options.follow) return;
    // The monitor writes all output before it records the exit: one last read after we see the
    // container ended gets everything.
    for (;;) {
      const current = readState(state.id);
      // ended: exit recorded, record gone, or no monitor left to write anything more
      const ended = !current || current.status === "exited" || !monitorAlive(current);
      const more = readLogEntries(logPath(state.id), next);
      more.entries.forEach(print);
      next = more.next;
      if (ended) return;
      await Bun.sleep(100);
    }
  },
});
