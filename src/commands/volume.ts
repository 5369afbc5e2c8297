// `mydocker volume create|ls|rm|inspect`: named volumes under the data root.
import { defineCommand } from "citty";
import { UsageError } from "../cli/argv";
import { listStates, readConfig } from "../state/store";
import { createVolume, inspectVolume, listVolumes, removeVolume } from "../volumes";
import { table } from "../format";

/** Containers (any status) whose config mounts the volume's data. */
function volumeUsers(path: string): string[] {
  return listStates()
    .filter((s) => {
      try {
        return readConfig(s.id).mounts.some((m) => m.source === path);
      } catch {
        return false;
      }
    })
    .map((s) => s.id);
}

const verbs: Record<string, (args: string[]) => void> = {
  create([name]) {
    if (!name) throw new UsageError(`"volume create" requires 1 argument: NAME`);
    console.log(createVolume(name).name);
  },
  ls(args) {
    const volumes = listVolumes();
    if (args.includes("-q") || args.includes("--quiet")) return void volumes.forEach((v) => console.log(v.name));
    console.log(table(["DRIVER", "VOLUME NAME"], volumes.map((v) => ["local", v.name])));
  },
  rm(names) {
    if (!names.length) throw new UsageError(`"volume rm" requires at least 1 argument: NAME...`);
    for (const name of names) {
      const v = inspectVolume(name);
      removeVolume(name, v ? volumeUsers(v.path) : []);
      console.log(name);
    }
  },
  inspect(names) {
    if (!names.length) throw new UsageError(`"volume inspect" requires at least 1 argument: NAME...`);
    const out = names.map((name) => {
      const v = inspectVolume(name);
      if (!v) throw new UsageError(`No such volume: ${name}`);
      return { Name: v.name, Driver: "local", Mountpoint: v.path, CreatedAt: v.created };
    });
    console.log(JSON.stringify(out, null, 2));
  },
};

export default defineCommand({
  meta: { name: "volume", description: "Manage named volumes: create, ls, rm, inspect" },
  args: { verb: { type: "positional", required: true, description: "create | ls | rm | inspect" } },
  async run({ rawArgs }) {
    const [verb, ...rest] = rawArgs;
    const fn = verb === "list" ? verbs.ls : verb === "remove" ? verbs.rm : verbs[verb ?? ""];
    if (!fn) throw new UsageError(`unknown volume command "${verb ?? ""}": use create, ls, rm or inspect`);
    fn(rest);
  },
});
