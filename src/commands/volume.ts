// `mydocker volume create|ls|rm|inspect`: named volumes under the data root, with docker's flags
// (ls: -q, --filter, --format; rm: -f; inspect: -f).
import { defineCommand } from "citty";
import { randomBytes } from "node:crypto";
import { FlagError } from "../cli/argv";
import { listStates, readConfig, type ContainerState } from "../state/store";
import { createVolume, inspectVolume, listVolumes, removeVolume, type Volume } from "../volumes";
import { formatRows } from "../format";
import { compileTemplate } from "../format/template";
import { expectCount, parseArgs } from "./images/args";
import { parseFilters } from "./filters";
import { volumeInspect } from "./inspect-view";

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

const lsArgs = {
  quiet: { type: "boolean", alias: "q", description: "Only volume names" },
  format: { type: "string", valueHint: "table|json|TEMPLATE", description: "table, json, or a Go template ({{.Name}})" },
  filter: { type: "string", alias: "f", valueHint: "KEY=VALUE...", description: "dangling=true|false, name=TEXT, driver=local" },
} as const;
const rmArgs = { force: { type: "boolean", alias: "f", description: "Do not fail on volumes that do not exist" } } as const;
const inspectArgs = { format: { type: "string", alias: "f", valueHint: "TEMPLATE", description: "Format the output with a Go template, or json" } } as const;
const createArgs = {
  driver: { type: "string", alias: "d", valueHint: "local", description: "Only the local driver exists" },
  name: { type: "string", valueHint: "NAME", description: "The volume's name" },
} as const;

const verbs: Record<string, (args: string[]) => void> = {
  create(raw) {
    const { options, positionals } = parseArgs(raw, createArgs);
    expectCount("volume create", "[VOLUME]", positionals, 0, 1);
    if (options.driver !== undefined && options.driver !== "local") throw new Error(`volume driver "${options.driver}" is not supported: only "local"`);
    const name = positionals[0] ?? (options.name as string | undefined) ?? randomBytes(32).toString("hex");
    console.log(createVolume(name).name);
  },
  ls(raw) {
    const { options, positionals } = parseArgs(raw, lsArgs);
    expectCount("volume ls", "", positionals, 0, 0);
    const filters = parseFilters([options.filter ?? []].flat() as string[], ["dangling", "name", "driver", "label"]);
    const inUse = filters.has("dangling") ? new Set(listStates().flatMap((s) => userMountsOf(s))) : new Set<string>();
    const checks: Record<string, (v: Volume, want: string) => boolean> = {
      dangling: (v, want) => !inUse.has(v.path) === (want === "true" || want === "1"),
      name: (v, want) => v.name.includes(want),
      driver: (_v, want) => want === "local",
      label: () => false, // volumes carry no labels here
    };
    const volumes = listVolumes().filter((v) => [...filters].every(([key, values]) => values.some((want) => checks[key]!(v, want))));
    if (options.quiet) return void volumes.forEach((v) => console.log(v.name));
    const lines = formatRows(options.format as string | undefined, volumes, {
      defaultFormat: "table {{.Driver}}\t{{.Name}}",
      headers: { Driver: "DRIVER", Name: "VOLUME NAME", Mountpoint: "MOUNTPOINT", Scope: "SCOPE", Labels: "LABELS", CreatedAt: "CREATED AT", Links: "LINKS", Size: "SIZE" },
      view: (v) => ({ Name: v.name, Driver: "local", Scope: "local", Mountpoint: v.path, Labels: "", Links: "N/A", Size: "N/A", CreatedAt: v.created, Label: () => "" }),
      json: (v) => ({ Availability: "N/A", Driver: "local", Group: "N/A", Labels: "", Links: "N/A", Mountpoint: v.path, Name: v.name, Scope: "local", Size: "N/A", Status: "N/A" }),
    });
    if (lines.length) console.log(lines.join("\n"));
  },
  rm(raw) {
    const { options, positionals: names } = parseArgs(raw, rmArgs);
    expectCount("volume rm", "VOLUME [VOLUME...]", names, 1);
    for (const name of names) {
      const v = inspectVolume(name);
      if (!v && options.force) continue;
      removeVolume(name, v ? volumeUsers(v.path) : []);
      console.log(name);
    }
  },
  inspect(raw) {
    const { options, positionals: names } = parseArgs(raw, inspectArgs);
    expectCount("volume inspect", "VOLUME [VOLUME...]", names, 1);
    const format = options.format as string | undefined;
    const tpl = format && format !== "json" ? compileTemplate(format.replace(/\\t/g, "\t").replace(/\\n/g, "\n")) : undefined;
    const out = names.map((name) => {
      const v = inspectVolume(name);
      if (!v) throw new Error(`No such volume: ${name}`);
      return volumeInspect(v);
    });
    if (tpl) console.log(out.map((o) => tpl.render(o)).join("\n"));
    else if (format === "json") console.log(out.map((o) => JSON.stringify(o)).join("\n"));
    else console.log(JSON.stringify(out, null, 4));
  },
};

/** Host paths a container's config mounts. */
function userMountsOf(s: ContainerState): string[] {
  try {
    return readConfig(s.id).mounts.map((m) => m.source ?? "");
  } catch {
    return [];
  }
}

export default defineCommand({
  meta: { name: "volume", description: "Manage named volumes: create, ls, rm, inspect" },
  args: { verb: { type: "positional", required: true, description: "create | ls | rm | inspect" } },
  async run({ rawArgs }) {
    const [verb, ...rest] = rawArgs;
    const fn = verb === "list" ? verbs.ls : verb === "remove" ? verbs.rm : verbs[verb ?? ""];
    if (!fn) throw new FlagError(`unknown volume command "${verb ?? ""}": use create, ls, rm or inspect`);
    fn(rest);
  },
});
