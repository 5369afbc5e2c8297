// `mydocker system df [--format F]`: the space images, containers' writable layers and volumes
// take, and how much of it nothing uses (docker's TYPE / TOTAL / ACTIVE / SIZE / RECLAIMABLE).
import { defineCommand } from "citty";
import { ago, formatRows, humanSize, shortCommand, table } from "../format";
import { FlagError } from "../cli/argv";
import { parseReference } from "../image/reference";
import { statusText } from "./ps";
import type { ContainerState } from "../state/store";
import { hasLayer, layerInfo } from "../image/layers";
import { listImages } from "../image/store";
import { listLive } from "../state/live";
import { readConfig } from "../state/store";
import { listVolumes } from "../volumes";
import { parseCommand } from "./args";
import { diskUsage, writableLayerSize } from "./container-view";

const args = {
  format: { type: "string", valueHint: "table|json|TEMPLATE", description: "table, json, or a Go template ({{.Type}} {{.Size}})" },
  verbose: { type: "boolean", alias: "v", description: "Show detailed information on space usage" },
} as const;

interface Usage {
  Type: string;
  TotalCount: number;
  Active: number;
  size: number;
  reclaimable: number;
}

/** docker's "11.63MB (70%)": the share is a whole percent, left out when nothing is there. */
const reclaimableText = (u: Usage) => (u.size > 0 ? `${humanSize(u.reclaimable)} (${Math.floor((u.reclaimable * 100) / u.size)}%)` : humanSize(u.reclaimable));

export function diskUsageSummary(): Usage[] {
  const containers = listLive();
  const images = listImages();
  const usedImages = new Set(containers.map((c) => c.imageId).filter(Boolean));
  const sizes = containers.map((c) => ({ up: c.status === "running" || c.status === "paused", size: writableLayerSize(c) }));
  const mounted = new Set(
    containers.flatMap((c) => {
      try {
        return readConfig(c.id).mounts.map((m) => m.source ?? "");
      } catch {
        return [];
      }
    }),
  );
  const volumes = listVolumes().map((v) => ({ used: mounted.has(v.path), size: diskUsage(v.path) }));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  // Images share layers: each layer counts once, and is reclaimable when no image in use has it.
  const layerSize = (l: string) => (hasLayer(l) ? layerInfo(l).size : 0);
  const allLayers = new Set(images.flatMap((i) => i.layers));
  const usedLayers = new Set(images.filter((i) => usedImages.has(i.id)).flatMap((i) => i.layers));
  return [
    { Type: "Images", TotalCount: images.length, Active: images.filter((i) => usedImages.has(i.id)).length, size: sum([...allLayers].map(layerSize)), reclaimable: sum([...allLayers].filter((l) => !usedLayers.has(l)).map(layerSize)) },
    { Type: "Containers", TotalCount: containers.length, Active: sizes.filter((c) => c.up).length, size: sum(sizes.map((c) => c.size)), reclaimable: sum(sizes.filter((c) => !c.up).map((c) => c.size)) },
    { Type: "Local Volumes", TotalCount: volumes.length, Active: volumes.filter((v) => v.used).length, size: sum(volumes.map((v) => v.size)), reclaimable: sum(volumes.filter((v) => !v.used).map((v) => v.size)) },
    { Type: "Build Cache", TotalCount: 0, Active: 0, size: 0, reclaimable: 0 },
  ];
}

/**
 * `system df -v`: docker's four sections. An image's SHARED SIZE is that of its layers another
 * image has too; a volume's LINKS, the containers that mount it.
 */
function verboseReport(): string {
  const now = Date.now();
  const containers = listLive();
  const images = listImages();
  const layerSize = (l: string) => (hasLayer(l) ? layerInfo(l).size : 0);
  const holders = new Map<string, number>();
  for (const i of images) for (const l of new Set(i.layers)) holders.set(l, (holders.get(l) ?? 0) + 1);
  const imageRows = images.flatMap((i) => {
    const layers = [...new Set(i.layers)]; // a layer twice in one image (an empty one) is stored once
    const size = layers.reduce((a, l) => a + layerSize(l), 0);
    const shared = layers.filter((l) => holders.get(l)! > 1).reduce((a, l) => a + layerSize(l), 0);
    const cells = (repo: string, tag: string) => [
      repo, tag, i.id.replace(/^sha256:/, "").slice(0, 12), ago(i.created, now), humanSize(size), humanSize(shared), humanSize(size - shared),
      String(containers.filter((c) => c.imageId === i.id).length),
    ];
    if (!i.repoTags.length) return [cells("<none>", "<none>")];
    return i.repoTags.map((t) => {
      const { name, tag } = parseReference(t);
      return cells(name, tag);
    });
  });
  const mountsOf = (c: ContainerState) => {
    try {
      return readConfig(c.id).mounts;
    } catch {
      return [];
    }
  };
  const volumes = listVolumes();
  const volumePaths = new Set(volumes.map((v) => v.path));
  const containerRows = containers.map((c) => [
    c.id.slice(0, 12), c.image, shortCommand(c.command), String(mountsOf(c).filter((m) => volumePaths.has(m.source ?? "")).length),
    humanSize(writableLayerSize(c)), ago(c.created, now), statusText(c, now), c.name,
  ]);
  const volumeRows = volumes.map((v) => [v.name, String(containers.filter((c) => mountsOf(c).some((m) => m.source === v.path)).length), humanSize(diskUsage(v.path))]);
  return [
    "Images space usage:\n",
    table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"], imageRows),
    "\nContainers space usage:\n",
    table(["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"], containerRows),
    "\nLocal Volumes space usage:\n",
    table(["VOLUME NAME", "LINKS", "SIZE"], volumeRows),
    "\nBuild cache usage: 0B\n",
    table(["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"], []),
  ].join("\n");
}

export default defineCommand({
  meta: { name: "df", description: "Show disk usage" },
  args,
  async run({ rawArgs }) {
    const { options } = parseCommand("system df", rawArgs, args, 0, "");
    if (options.verbose) {
      if (options.format !== undefined) throw new FlagError("--format cannot be combined with --verbose");
      console.log(verboseReport());
      return;
    }
    const view = (u: Usage) => ({ Type: u.Type, TotalCount: String(u.TotalCount), Active: String(u.Active), Size: humanSize(u.size), Reclaimable: u.Type === "Build Cache" ? humanSize(0) : reclaimableText(u) });
    const lines = formatRows(options.format as string | undefined, diskUsageSummary(), {
      defaultFormat: "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
      headers: { Type: "TYPE", TotalCount: "TOTAL", Active: "ACTIVE", Size: "SIZE", Reclaimable: "RECLAIMABLE" },
      view,
      json: (u) => {
        const v = view(u);
        return { Active: v.Active, Reclaimable: v.Reclaimable, Size: v.Size, TotalCount: v.TotalCount, Type: v.Type };
      },
    });
    console.log(lines.join("\n"));
  },
});
