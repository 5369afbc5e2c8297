// `mydocker inspect NAME...` (JSON), `mydocker wait NAME...` (exit codes), `mydocker rename OLD NEW`.
import { defineCommand } from "citty";
import { findLive, waitFor } from "../state/live";
import { readConfig, renameContainer, type ContainerState } from "../state/store";
import { parseCommand } from "./args";

export const inspect = defineCommand({
  meta: { name: "inspect", description: "Show containers' state and config as JSON" },
  args: { container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { positionals } = parseCommand("inspect", rawArgs, {}, 1, "CONTAINER...");
    const out = positionals.map((ref) => {
      const s = findLive(ref);
      return {
        Id: s.id,
        Name: s.name,
        Created: s.created,
        Path: s.command[0] ?? "",
        Args: s.command.slice(1),
        State: {
          Status: s.status,
          Running: s.status === "running" || s.status === "paused",
          Paused: s.status === "paused",
          Dead: s.status === "dead",
          OOMKilled: s.oomKilled,
          Pid: s.status === "running" || s.status === "paused" ? s.pid : 0,
          ExitCode: s.exitCode ?? null,
          Error: s.error ?? "",
          StartedAt: s.started ?? null,
          FinishedAt: s.finished ?? null,
        },
        Image: s.imageId ?? s.image,
        Rootfs: s.rootfs,
        HostConfig: { AutoRemove: s.autoRemove, CgroupParent: s.cgroup.parent ?? "" },
        Config: configOf(s),
      };
    });
    console.log(JSON.stringify(out, null, 2));
  },
});

/** The OCI config it runs; for a dead (broken) record, what is readable of it, else null. */
function configOf(s: ContainerState): unknown {
  if (s.status !== "dead") return readConfig(s.id);
  try {
    return readConfig(s.id);
  } catch {
    return null;
  }
}

export const wait = defineCommand({
  meta: { name: "wait", description: "Wait for containers to stop, then print their exit codes" },
  args: { container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { positionals } = parseCommand("wait", rawArgs, {}, 1, "CONTAINER...");
    for (const ref of positionals) {
      const s = findLive(ref);
      let code: number | null | undefined;
      await waitFor(s.id, (now) => {
        if (now && now.status !== "exited") return false;
        code = now?.exitCode;
        return true;
      }, Infinity);
      console.log(code ?? -1);
    }
  },
});

export const rename = defineCommand({
  meta: { name: "rename", description: "Rename a container" },
  args: { container: { type: "positional", required: true }, name: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { positionals } = parseCommand("rename", rawArgs, {}, 2, "CONTAINER NEW_NAME");
    renameContainer(findLive(positionals[0]!).id, positionals[1]!);
  },
});
