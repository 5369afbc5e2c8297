// `mydocker monitor ID` (internal): supervises a detached container. Started by `run -d` in its
// own session; reports on fd 3 whether the command started, then waits for it, keeps its output in
// container.log, records its exit and tears it down.
import { closeSync, writeSync } from "node:fs";
import { defineCommand } from "citty";
import { UsageError } from "../cli/argv";
import { superviseContainer } from "../containers/supervise";
import { findContainer, logPath, readConfig } from "../state/store";

export type MonitorReport = { ok: true } | { ok: false; error: string; code: number };

const REPORT_FD = 3;

export default defineCommand({
  meta: { name: "monitor", description: "(internal) supervise a detached container", hidden: true },
  args: { id: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const [id] = rawArgs;
    if (!id) throw new UsageError("monitor: container id required");
    const state = findContainer(id);
    const report = (r: MonitorReport) => {
      try {
        writeSync(REPORT_FD, JSON.stringify(r) + "\n");
        closeSync(REPORT_FD);
      } catch {
        // `run -d` is gone: nobody to tell
      }
    };
    const outcome = await superviseContainer(state, readConfig(state.id), {
      stdio: ["ignore", "pipe", "pipe"],
      logFile: logPath(state.id),
      onStarted: (r) => report(r.ok ? { ok: true } : { ok: false, error: r.error, code: r.code }),
    });
    process.exitCode = outcome.error ? 1 : 0;
  },
});
