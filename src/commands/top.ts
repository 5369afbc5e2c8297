// `mydocker top NAME [ps OPTIONS]` (the processes of its cgroup; with options, ps(1)'s columns) and `mydocker pause|unpause NAME...` (freezer).
import { readFileSync } from "node:fs";
import { defineCommand } from "citty";
import { FlagError, splitArgs, UsageError } from "../cli/argv";
import { openCgroup, type Cgroup } from "../cgroups";
import { findLive } from "../state/live";
import { updateState, type ContainerState } from "../state/store";
import { parseCommand } from "./args";
import { table } from "../format";
import { containerActor, emit } from "../events";

const cgroupOf = (s: ContainerState): Cgroup => openCgroup({ id: s.id, parent: s.cgroup.parent, selfCgroup: s.cgroup.selfCgroup });

function running(ref: string): ContainerState {
  const s = findLive(ref);
  if (s.status !== "running" && s.status !== "paused") throw new UsageError(`container ${ref} is not running`);
  return s;
}

export const top = defineCommand({
  meta: { name: "top", description: "Show the processes of a container" },
  args: { container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    // `top CONTAINER [ps OPTIONS]`: what follows the container is ps(1)'s, as docker passes it
    const [ref, ...psOptions] = splitArgs(rawArgs, {}).rest;
    if (ref === undefined) parseCommand("top", [], {}, 1, "CONTAINER [ps OPTIONS]");
    if (psOptions.length) return void console.log(psOf(cgroupOf(running(ref!)).pids(), psOptions).join("\n"));
    const rows: string[][] = [];
    for (const pid of cgroupOf(running(ref!)).pids()) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const ppid = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]!;
        const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "?";
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
        rows.push([uid, String(pid), ppid, cmd]);
      } catch {
        // exited while we looked
      }
    }
    console.log(table(["UID", "PID", "PPID", "CMD"], rows));
  },
});

/**
 * ps(1) run on the host with the user's options, keeping its header and the lines of `pids`
 * (found by the PID column, which the options must include: docker's rule).
 */
function psOf(pids: number[], options: string[]): string[] {
  const r = Bun.spawnSync(["ps", ...options], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ps ${options.join(" ")}: ${r.stderr.toString().trim().split("\n")[0] || `exit status ${r.exitCode}`}`);
  const [header = "", ...lines] = r.stdout.toString().split("\n").filter((l) => l !== "");
  const col = header.trim().split(/\s+/).indexOf("PID");
  if (col < 0) throw new FlagError(`Couldn't find PID field in ps output (ps ${options.join(" ")}): add pid to the -o list`);
  const mine = new Set(pids.map(String));
  return [header, ...lines.filter((l) => mine.has(l.trim().split(/\s+/)[col]!))];
}

/** Freezes or thaws, and waits until the kernel reports it done (freezing is not instant). */
async function setPaused(s: ContainerState, paused: boolean): Promise<void> {
  const cg = cgroupOf(s);
  const [file, done] = cg.version === 1 ? [cg.file("freezer.state"), paused ? /FROZEN/ : /THAWED/] : [cg.file("cgroup.events"), paused ? /^frozen 1/m : /^frozen 0/m];
  const reached = () => {
    try {
      return done.test(readFileSync(file, "utf8"));
    } catch {
      throw new UsageError(`container ${s.name} exited`); // its cgroup is gone
    }
  };
  cg.setFrozen(paused);
  for (let i = 0; i < 500 && !reached(); i++) await Bun.sleep(10);
  if (!reached()) throw new UsageError(`container ${s.name}: the kernel did not finish ${paused ? "freezing" : "thawing"} it in 5 s`);
  // only a container that is still up changes status (it may have exited meanwhile)
  updateState(s.id, (now) => (now.status === "running" || now.status === "paused" ? { status: paused ? "paused" : "running" } : {}));
  emit("container", paused ? "pause" : "unpause", containerActor(s));
}

/** `pause` and `unpause`: the same walk over the named containers, in opposite directions. */
function freezerCommand(name: "pause" | "unpause", paused: boolean, description: string) {
  return defineCommand({
    meta: { name, description },
    args: { container: { type: "positional", required: true } },
    async run({ rawArgs }) {
      for (const ref of parseCommand(name, rawArgs, {}, 1, "CONTAINER...").positionals) {
        const s = running(ref);
        if ((s.status === "paused") === paused) throw new UsageError(`container ${ref} is ${paused ? "already" : "not"} paused`);
        await setPaused(s, paused);
        console.log(ref);
      }
    },
  });
}

export const pause = freezerCommand("pause", true, "Freeze all processes of containers");
export const unpause = freezerCommand("unpause", false, "Thaw paused containers");
