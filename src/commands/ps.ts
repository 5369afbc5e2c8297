// `mydocker ps [-a] [-q] [-s] [-n N | -l] [--no-trunc] [--filter K=V]... [--format F]`: containers,
// their status read from the live processes, newest first, in docker's columns and field names.
import { networkNames, portsColumn } from "../network/view";
import { defineCommand } from "citty";
import { FlagError } from "../cli/argv";
import { listLive } from "../state/live";
import type { ContainerState } from "../state/store";
import { resolveImage } from "../image/store";
import { inspectVolume } from "../volumes";
import { parseCommand } from "./args";
import { labelMatches, parseFilters } from "./filters";
import { ago, formatRows, goTime, humanDuration, humanSize, shortCommand } from "../format";
import { goMap } from "../format/template";
import { configOrUndefined, labelsOf, userMounts, writableLayerSize } from "./container-view";

const args = {
  all: { type: "boolean", alias: "a", description: "Show all containers (default: running ones)" },
  quiet: { type: "boolean", alias: "q", description: "Only ids" },
  size: { type: "boolean", alias: "s", description: "Show the size of each container's writable layer" },
  last: { type: "string", alias: "n", valueHint: "N", description: "Show the N last created containers (all states)" },
  latest: { type: "boolean", alias: "l", description: "Show the latest created container (all states)" },
  "no-trunc": { type: "boolean", description: "Don't truncate output" },
  filter: { type: "string", alias: "f", valueHint: "KEY=VALUE...", description: "id, name, label, status, exited, ancestor, before, since, volume" },
  format: { type: "string", valueHint: "table|json|TEMPLATE", description: "table, json, or a Go template ({{.ID}} {{.Names}} ...)" },
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
      if (s.restarting) return `Restarting (${s.exitCode ?? "unknown"}) ${ago(s.finished ?? s.created, now)}`; // between two runs of --restart
      return `Exited (${s.exitCode ?? "unknown"}) ${ago(s.finished ?? s.created, now)}`;
    case "dead":
      return "Dead"; // the reason: `mydocker inspect`
  }
}

const STATUSES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

/** docker's status word: between two runs of a restart policy a container is "restarting". */
const dockerStatus = (s: ContainerState): string => (s.status === "exited" && s.restarting ? "restarting" : s.status);
const FILTER_KEYS = ["id", "name", "label", "status", "exited", "ancestor", "before", "since", "volume"];

function containerFilter(filters: Map<string, string[]>, all: ContainerState[]): (s: ContainerState) => boolean {
  const created = (ref: string) => {
    const s = all.find((c) => c.name === ref || c.id === ref) ?? all.find((c) => c.id.startsWith(ref));
    if (!s) throw new FlagError(`No such container: ${ref}`);
    return Date.parse(s.created);
  };
  const before = filters.get("before")?.map(created);
  const since = filters.get("since")?.map(created);
  for (const v of filters.get("status") ?? []) if (!STATUSES.includes(v)) throw new FlagError(`invalid filter 'status=${v}' (use ${STATUSES.join(", ")})`);
  for (const v of filters.get("exited") ?? []) if (!/^-?\d+$/.test(v)) throw new FlagError(`invalid filter 'exited=${v}': expected an exit code`);
  const checks: Record<string, (s: ContainerState, v: string) => boolean> = {
    id: (s, v) => s.id.startsWith(v),
    // docker keeps names as "/NAME" and matches the pattern with and without that slash
    name: (s, v) => {
      try {
        const re = new RegExp(v);
        return re.test(s.name) || re.test(`/${s.name}`);
      } catch {
        return s.name.includes(v);
      }
    },
    label: (s, v) => labelMatches(labelsOf(s), v),
    status: (s, v) => dockerStatus(s) === v,
    exited: (s, v) => dockerStatus(s) === "exited" && s.exitCode === Number(v),
    ancestor: (s, v) => {
      if (s.image === v || s.image === `${v}:latest`) return true;
      const image = resolveImage(v);
      return image !== undefined && s.imageId === image.id;
    },
    volume: (s, v) => {
      const vol = inspectVolume(v);
      return userMounts(configOrUndefined(s)).some((m) => m.Name === v || m.Destination === v || (vol !== undefined && m.Source === vol.path));
    },
    before: (s) => before!.every((t) => Date.parse(s.created) < t),
    since: (s) => since!.every((t) => Date.parse(s.created) > t),
  };
  return (s) => [...filters].every(([key, values]) => values.some((v) => checks[key]!(s, v)));
}

/** What a ps template sees: docker's containerContext fields. */
function view(s: ContainerState, o: { noTrunc: boolean; size: boolean }, now: number) {
  const spec = configOrUndefined(s);
  const labels = labelsOf(s, spec);
  const mounts = userMounts(spec).map((m) => m.Name ?? m.Source).filter(Boolean);
  const sizeRw = o.size ? writableLayerSize(s) : 0;
  const virtual = o.size && s.imageId ? (resolveImage(s.imageId)?.size ?? 0) : 0;
  return {
    ID: o.noTrunc ? s.id : s.id.slice(0, 12),
    Image: s.image,
    Command: o.noTrunc ? `"${s.command.join(" ")}"` : shortCommand(s.command),
    CreatedAt: goTime(s.created),
    RunningFor: ago(s.created, now),
    Ports: portsColumn(s),
    State: dockerStatus(s),
    Status: statusText(s, now),
    Size: o.size ? `${humanSize(sizeRw)} (virtual ${humanSize(sizeRw + virtual)})` : "0B",
    Names: s.name,
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(","),
    Mounts: mounts.map((m) => (o.noTrunc || m.length <= 15 ? m : m.slice(0, 15) + "…")).join(","),
    Networks: networkNames(s),
    LocalVolumes: String(userMounts(spec).filter((m) => m.Type === "volume").length),
    /** `{{.Label "com.example.key"}}` */
    Label: (key: string) => labels[key] ?? "",
    LabelsMap: goMap({ ...labels }),
  };
}

const HEADERS = { ID: "CONTAINER ID", Image: "IMAGE", Command: "COMMAND", CreatedAt: "CREATED AT", RunningFor: "CREATED", Ports: "PORTS", State: "STATE", Status: "STATUS", Size: "SIZE", Names: "NAMES", Labels: "LABELS", Mounts: "MOUNTS", Networks: "NETWORKS", LocalVolumes: "LOCAL VOLUMES", Label: "LABEL" };

export default defineCommand({
  meta: { name: "ps", description: "List containers" },
  args,
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("ps", rawArgs, args, 0, "");
    if (positionals.length) throw new FlagError(`"ps" accepts no arguments`);
    let last = options.latest ? 1 : -1;
    if (options.last !== undefined) {
      if (!/^-?\d+$/.test(options.last as string)) throw new FlagError(`invalid argument "${options.last}" for "-n, --last" flag: expected a number`);
      last = Number(options.last);
    }
    const filters = parseFilters([options.filter ?? []].flat() as string[], FILTER_KEYS);
    const everything = listLive().sort((a, b) => Date.parse(b.created) - Date.parse(a.created) || b.id.localeCompare(a.id));
    const keep = containerFilter(filters, everything);
    // -n/-l and a status filter look at stopped containers too, as docker's
    const all = options.all || last > 0 || filters.has("status");
    // without -a: what docker counts as running (paused and restarting ones too)
    let shown = everything.filter((s) => (all || ["running", "paused", "restarting"].includes(dockerStatus(s))) && keep(s));
    if (last > 0) shown = shown.slice(0, last);
    if (options.quiet) return void shown.forEach((s) => console.log(options["no-trunc"] ? s.id : s.id.slice(0, 12)));
    const now = Date.now();
    const o = { noTrunc: options["no-trunc"] === true, size: options.size === true };
    const defaultFormat = `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}${o.size ? "\t{{.Size}}" : ""}`;
    const lines = formatRows(options.format as string | undefined, shown, {
      defaultFormat,
      headers: HEADERS,
      view: (s) => view(s, o, now),
      json: (s) => {
        const { Label: _l, LabelsMap: _m, ...fields } = view(s, o, now);
        return Object.fromEntries(Object.entries(fields).sort(([a], [b]) => a.localeCompare(b)));
      },
    });
    if (lines.length) console.log(lines.join("\n"));
  },
});
