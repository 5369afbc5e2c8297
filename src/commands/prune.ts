// `container prune`, `image prune [-a]`, `volume prune`, `system prune [-a] [--volumes]`: remove what
// nothing uses, with docker's output ("Deleted Containers:" ... "Total reclaimed space: 1.2MB").
// Without -f docker asks; with no terminal to ask on, we refuse (a script must say -f).
// Also the `container`, `image` and `volume` groups (`container prune`, `image ls`, ...): `prune` is
// ours, any other verb runs the top-level command of that name (`ls` is `ps` / `images`).
import { lstatSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import { defineCommand, type CommandDef } from "citty";
import { FlagError, UsageError } from "../cli/argv";
import { humanSize } from "../format";
import { emit } from "../events";
import { listLive } from "../state/live";
import { listStates, readConfig } from "../state/store";
import { parseCommand } from "./args";

const forceArg = { force: { type: "boolean", alias: "f", description: "Do not prompt for confirmation" } } as const;
const filterArg = { filter: { type: "string", valueHint: "filter...", description: "Provide filter values (not supported yet: refused)" } } as const;

/** Bytes of the regular files below `dir` (symlinks not followed); 0 when it is not there. */
export function treeSize(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    const p = join(dir, n);
    try {
      const st = lstatSync(p);
      if (st.isDirectory()) total += treeSize(p);
      else if (st.isFile()) total += st.size;
    } catch {} // removed meanwhile
  }
  return total;
}

/** docker's prompt; without a terminal, a refusal that names -f. */
function confirm(warning: string, force: boolean): boolean {
  if (force) return true;
  if (!process.stdin.isTTY) throw new UsageError(`${warning.split("\n")[0]} Refusing without a terminal to confirm on: use -f`);
  process.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const buf = Buffer.alloc(256);
  let answer = "";
  for (;;) {
    let n = 0;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
        Bun.sleepSync(10);
        continue;
      }
      throw e;
    }
    if (n <= 0) break;
    answer += buf.subarray(0, n).toString();
    if (answer.includes("\n")) break;
  }
  return /^y(es)?$/i.test(answer.trim());
}

function refuseFilters(options: Record<string, unknown>): void {
  if (options.filter !== undefined) throw new FlagError(`prune --filter is not supported`);
}

interface Report {
  lines: string[];
  bytes: number;
}

const print = (title: string, r: Report) => {
  if (r.lines.length) console.log(`${title}:\n${r.lines.join("\n")}\n`);
};

// ---------------------------------------------------------------- the three kinds

/** Stopped (exited) containers, and broken ("dead") records whose processes are gone. */
export function pruneContainers(): Report {
  const { removeDead, removeStopped } = require("../containers/lifecycle") as typeof import("../containers/lifecycle");
  const { containerLayerDir } = require("../image/overlay") as typeof import("../image/overlay");
  const r: Report = { lines: [], bytes: 0 };
  for (const s of listLive()) {
    if (s.status !== "exited" && s.status !== "dead") continue;
    const size = treeSize(join(containerLayerDir(s.id), "upper"));
    try {
      if (s.status === "dead") removeDead(s, false);
      else removeStopped(s);
    } catch {
      continue; // started again meanwhile, or its teardown failed: left for `rm`
    }
    r.lines.push(s.id);
    r.bytes += size;
  }
  return r;
}

/** Images no container uses: only untagged ones (dangling), or with `all` every one. */
export function pruneImages(all: boolean): Report {
  const store = require("../image/store") as typeof import("../image/store");
  const { hasLayer, layerInfo } = require("../image/layers") as typeof import("../image/layers");
  const { imageUsers } = require("../image/usage") as typeof import("../image/usage");
  const r: Report = { lines: [], bytes: 0 };
  for (const image of store.listImages()) {
    if (!all && image.repoTags.length > 0) continue;
    const sizes = new Map(image.layers.filter(hasLayer).map((l) => [l, layerInfo(l).size]));
    let deleted: string[];
    try {
      // checked again under the store lock, which `run` holds from choosing an image to recording its container
      deleted = store.deleteImage(image.id, () => {
        if (imageUsers(image.id).length) throw new UsageError("in use");
      });
    } catch {
      continue;
    }
    for (const t of image.repoTags) {
      r.lines.push(`untagged: ${t}`);
      emit("image", "untag", { id: image.id, attributes: { name: t } });
    }
    r.lines.push(`deleted: ${image.id}`);
    emit("image", "delete", { id: image.id, attributes: { name: image.repoTags[0] ?? image.id } });
    for (const l of deleted) {
      r.lines.push(`deleted: ${l}`);
      r.bytes += sizes.get(l) ?? 0;
    }
  }
  return r;
}

/** Volumes whose data no container's config mounts. */
export function pruneVolumes(): Report {
  const volumes = require("../volumes") as typeof import("../volumes");
  const mounted = new Set<string>();
  for (const s of listStates()) {
    try {
      for (const m of readConfig(s.id).mounts ?? []) if (m.source) mounted.add(m.source);
    } catch {}
  }
  const r: Report = { lines: [], bytes: 0 };
  for (const v of volumes.listVolumes()) {
    if (mounted.has(v.path)) continue;
    const size = treeSize(v.path);
    try {
      volumes.removeVolume(v.name, []);
    } catch {
      continue;
    }
    emit("volume", "destroy", { id: v.name, attributes: { driver: "local" } });
    r.lines.push(v.name);
    r.bytes += size;
  }
  return r;
}

const total = (bytes: number) => console.log(`Total reclaimed space: ${humanSize(bytes)}`);

// ---------------------------------------------------------------- commands

export const containerPrune = defineCommand({
  meta: { name: "prune", description: "Remove all stopped containers" },
  args: { ...forceArg, ...filterArg },
  async run({ rawArgs }) {
    const { options } = parseCommand("container prune", rawArgs, { ...forceArg, ...filterArg }, 0, "");
    refuseFilters(options);
    if (!confirm("WARNING! This will remove all stopped containers.", options.force === true)) return;
    const r = pruneContainers();
    print("Deleted Containers", r);
    total(r.bytes);
  },
});

const imagePruneArgs = { ...forceArg, ...filterArg, all: { type: "boolean", alias: "a", description: "Remove all unused images, not just dangling ones" } } as const;

export const imagePrune = defineCommand({
  meta: { name: "prune", description: "Remove unused images" },
  args: imagePruneArgs,
  async run({ rawArgs }) {
    const { options } = parseCommand("image prune", rawArgs, imagePruneArgs, 0, "");
    refuseFilters(options);
    const all = options.all === true;
    const warning = all ? "WARNING! This will remove all images without at least one container associated to them." : "WARNING! This will remove all dangling images.";
    if (!confirm(warning, options.force === true)) return;
    const r = pruneImages(all);
    print("Deleted Images", r);
    total(r.bytes);
  },
});

const volumePruneArgs = { ...forceArg, ...filterArg, all: { type: "boolean", alias: "a", description: "Remove all unused volumes (every volume here is named)" } } as const;

export const volumePrune = defineCommand({
  meta: { name: "prune", description: "Remove unused local volumes" },
  args: volumePruneArgs,
  async run({ rawArgs }) {
    const { options } = parseCommand("volume prune", rawArgs, volumePruneArgs, 0, "");
    refuseFilters(options);
    if (!confirm("WARNING! This will remove all local volumes not used by at least one container.", options.force === true)) return;
    const r = pruneVolumes();
    print("Deleted Volumes", r);
    total(r.bytes);
  },
});

const systemPruneArgs = {
  ...forceArg,
  ...filterArg,
  all: { type: "boolean", alias: "a", description: "Remove all unused images not just dangling ones" },
  volumes: { type: "boolean", description: "Prune volumes" },
} as const;

export const systemPrune = defineCommand({
  meta: { name: "prune", description: "Remove unused data" },
  args: systemPruneArgs,
  async run({ rawArgs }) {
    const { options } = parseCommand("system prune", rawArgs, systemPruneArgs, 0, "");
    refuseFilters(options);
    const all = options.all === true;
    const volumes = options.volumes === true;
    const warning = [
      "WARNING! This will remove:",
      "  - all stopped containers",
      ...(volumes ? ["  - all volumes not used by at least one container"] : []),
      all ? "  - all images without at least one container associated to them" : "  - all dangling images",
    ].join("\n");
    if (!confirm(warning, options.force === true)) return;
    const c = pruneContainers();
    print("Deleted Containers", c);
    const v = volumes ? pruneVolumes() : { lines: [], bytes: 0 };
    print("Deleted Volumes", v);
    const i = pruneImages(all);
    print("Deleted Images", i);
    total(c.bytes + v.bytes + i.bytes);
  },
});

// ---------------------------------------------------------------- groups

type Loader = () => Promise<CommandDef<any>>;

/**
 * A docker management group (`container VERB`, `image VERB`, `volume VERB`): `verbs` first, then
 * `fallback` (the group's own command, e.g. volume.ts), then the top-level command of the
 * verb's name through `aliases` (`ls` -> `ps`).
 */
export function groupCommand(name: string, verbs: Record<string, Loader>, aliases: Record<string, string>, fallback?: Loader) {
  return defineCommand({
    meta: { name, description: `Manage ${name}s (${Object.keys(verbs).join(", ")}, and the ${name} commands)` },
    args: { verb: { type: "positional", required: true } },
    async run({ rawArgs, args, cmd }) {
      const [verb, ...rest] = rawArgs;
      if (verb === undefined) throw new FlagError(`"${name}" requires a command: mydocker ${name} COMMAND`);
      let load = verbs[verb];
      if (!load && fallback) {
        const own = await fallback();
        return own.run!({ rawArgs, args: args as any, cmd: own });
      }
      if (!load) {
        const { lifecycleCommands } = await import("./lifecycle");
        const { imageCommands } = await import("./images");
        const target = aliases[verb] ?? verb;
        load = target === "run" ? () => import("./run").then((m) => m.default) : (lifecycleCommands[target] ?? imageCommands[target]);
      }
      if (!load) throw new FlagError(`unknown command "${name} ${verb}"`);
      const sub = await load();
      const { splitArgs } = await import("../cli/argv");
      if (splitArgs(rest, (sub.args ?? {}) as any).help) {
        const { renderUsage } = await import("citty");
        return void console.log(await renderUsage(sub));
      }
      return sub.run!({ rawArgs: rest, args: { _: [] } as any, cmd: sub });
    },
  });
}

export const containerGroup = groupCommand("container", { prune: async () => containerPrune }, { ls: "ps", list: "ps", remove: "rm" });
export const imageGroup = groupCommand("image", { prune: async () => imagePrune }, { ls: "images", list: "images", rm: "rmi", remove: "rmi" });
/** `volume prune`, and volume.ts for its other verbs. */
export const volumeGroup = groupCommand("volume", { prune: async () => volumePrune }, {}, () => import("./volume").then((m) => m.default));
