// `mydocker network create|ls|inspect|rm|connect|disconnect|prune`: docker's bridge networks
// (src/network/), with docker's flags and output shapes.
import { defineCommand } from "citty";
import { FlagError, UsageError } from "../cli/argv";
import { formatRows } from "../format";
import { compileTemplate } from "../format/template";
import { expectCount, parseArgs } from "./images/args";
import { parseFilters } from "./filters";
import { findLive } from "../state/live";
import { readState } from "../state/store";
import { connectRunning, disconnectRunning, reclaim } from "../network/attach";
import { createNetwork, removeNetwork } from "../network/networks";
import { PSEUDO_NETWORKS, findNetwork, readNetworks, withNetworks, type NetworkRecord } from "../network/store";
import { log } from "../log";
import { HOST_NAME } from "../network/options";
import { isIPv4 } from "../network/ipam";
import { emit } from "../events";

const createArgs = {
  driver: { type: "string", alias: "d", valueHint: "bridge", description: "Only the bridge driver exists" },
  subnet: { type: "string", valueHint: "CIDR", description: "Subnet in CIDR format (default: the first free of docker's pools)" },
  gateway: { type: "string", valueHint: "IP", description: "Gateway address (default: the subnet's first)" },
  internal: { type: "boolean", description: "No traffic beyond the network" },
  label: { type: "string", valueHint: "K=V...", description: "Set metadata (repeatable)" },
} as const;
const lsArgs = {
  quiet: { type: "boolean", alias: "q", description: "Only network ids" },
  format: { type: "string", valueHint: "table|json|TEMPLATE", description: "table, json, or a Go template ({{.Name}})" },
  filter: { type: "string", alias: "f", valueHint: "KEY=VALUE...", description: "name=, id=, driver=, label=, type=custom|builtin" },
  "no-trunc": { type: "boolean", description: "Full network ids" },
} as const;
const inspectArgs = { format: { type: "string", alias: "f", valueHint: "TEMPLATE", description: "Format the output with a Go template, or json" } } as const;
const connectArgs = {
  ip: { type: "string", valueHint: "IP", description: "IPv4 address on the network" },
  alias: { type: "string", valueHint: "ALIAS...", description: "Another name on the network (repeatable)" },
} as const;
const forceArgs = { force: { type: "boolean", alias: "f", description: "Do not prompt (prune)" }, filter: { type: "string", valueHint: "KEY=VALUE...", description: "label=" } } as const;

/** host and none, listed as docker lists them; ids stable per data root */
const pseudo = (name: string) => ({
  id: Bun.hash.wyhash(`mydocker-network-${name}`).toString(16).padStart(16, "0").repeat(4),
  name,
  driver: name === "none" ? "null" : name,
  builtin: true,
  record: undefined as NetworkRecord | undefined,
});
/** docker's order: by name */
const rows = () =>
  [
    ...readNetworks().networks.map((n) => ({ id: n.id, name: n.name, driver: n.driver as string, builtin: n.isDefault === true, record: n as NetworkRecord | undefined })),
    ...PSEUDO_NETWORKS.map(pseudo),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

function labels(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of raw) {
    const eq = l.indexOf("=");
    out[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? "" : l.slice(eq + 1);
  }
  return out;
}

/** docker's `network inspect` document. */
export function networkInspect(r: ReturnType<typeof rows>[number]) {
  const n = r.record;
  return {
    Name: r.name,
    Id: r.id,
    Created: n?.created ?? "0001-01-01T00:00:00Z",
    Scope: "local",
    Driver: r.driver,
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: null, Config: n ? [{ Subnet: n.subnet, Gateway: n.gateway }] : [] },
    Internal: n?.internal ?? false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: Object.fromEntries(
      Object.values(n?.endpoints ?? {}).map((e) => [e.container, { Name: readState(e.container)?.name ?? e.name, EndpointID: e.hostVeth, MacAddress: e.mac, IPv4Address: `${e.ip}/${n!.subnet.split("/")[1]}`, IPv6Address: "" }]),
    ),
    Options: n ? { "com.docker.network.bridge.name": n.bridge, ...(n.isDefault ? { "com.docker.network.bridge.default_bridge": "true" } : {}) } : {},
    Labels: n?.labels ?? {},
  };
}

function find(ref: string) {
  const all = rows();
  const hit = all.find((r) => r.name === ref) ?? (PSEUDO_NETWORKS.includes(ref as "host") ? undefined : all.find((r) => r.record && r.record === findNetwork(readNetworks(), ref)));
  if (!hit) throw new UsageError(`network ${ref} not found`);
  return hit;
}

const verbs: Record<string, (args: string[]) => void> = {
  create(raw) {
    const { options, positionals } = parseArgs(raw, createArgs);
    expectCount("network create", "NETWORK", positionals, 1, 1);
    if (options.driver !== undefined && options.driver !== "bridge") throw new UsageError(`network driver "${options.driver}" is not supported: only "bridge"`);
    const { network, notice } = withNetworks((f) =>
      createNetwork(f, { name: positionals[0]!, subnet: options.subnet as string | undefined, gateway: options.gateway as string | undefined, internal: options.internal === true, labels: labels([options.label ?? []].flat() as string[]) }),
    );
    if (notice) log().warn(notice);
    emit("network", "create", { id: network.id, attributes: { name: network.name, type: "bridge" } });
    console.log(network.id);
  },
  ls(raw) {
    const { options, positionals } = parseArgs(raw, lsArgs);
    expectCount("network ls", "", positionals, 0, 0);
    const filters = parseFilters([options.filter ?? []].flat() as string[], ["name", "id", "driver", "label", "type"]);
    const checks: Record<string, (r: ReturnType<typeof rows>[number], want: string) => boolean> = {
      name: (r, w) => r.name.includes(w),
      id: (r, w) => r.id.startsWith(w),
      driver: (r, w) => r.driver === w,
      label: (r, w) => {
        const [k, v] = w.split("=");
        const l = r.record?.labels ?? {};
        return k! in l && (v === undefined || l[k!] === v);
      },
      type: (r, w) => (w === "builtin" ? r.builtin : w === "custom" ? !r.builtin : false),
    };
    const list = rows().filter((r) => [...filters].every(([key, values]) => values.some((want) => checks[key]!(r, want))));
    const id = (r: { id: string }) => (options["no-trunc"] ? r.id : r.id.slice(0, 12));
    if (options.quiet) return void list.forEach((r) => console.log(id(r)));
    const lines = formatRows(options.format as string | undefined, list, {
      defaultFormat: "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
      headers: { ID: "NETWORK ID", Name: "NAME", Driver: "DRIVER", Scope: "SCOPE", IPv6: "IPV6", Internal: "INTERNAL", Labels: "LABELS", CreatedAt: "CREATED AT" },
      view: (r) => ({ ID: id(r), Name: r.name, Driver: r.driver, Scope: "local", IPv6: "false", Internal: String(r.record?.internal ?? false), Labels: Object.entries(r.record?.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(","), CreatedAt: r.record?.created ?? "" }),
      json: (r) => ({ CreatedAt: r.record?.created ?? "", Driver: r.driver, ID: id(r), IPv6: "false", Internal: String(r.record?.internal ?? false), Labels: "", Name: r.name, Scope: "local" }),
    });
    if (lines.length) console.log(lines.join("\n"));
  },
  inspect(raw) {
    const { options, positionals } = parseArgs(raw, inspectArgs);
    expectCount("network inspect", "NETWORK [NETWORK...]", positionals, 1);
    const out = positionals.map((ref) => networkInspect(find(ref)));
    const format = options.format as string | undefined;
    if (format && format !== "json") {
      const tpl = compileTemplate(format.replace(/\\t/g, "\t").replace(/\\n/g, "\n"));
      console.log(out.map((o) => tpl.render(o)).join("\n"));
    } else if (format === "json") console.log(out.map((o) => JSON.stringify(o)).join("\n"));
    else console.log(JSON.stringify(out, null, 4));
  },
  rm(raw) {
    const { positionals } = parseArgs(raw, { force: forceArgs.force });
    expectCount("network rm", "NETWORK [NETWORK...]", positionals, 1);
    let failed: string | undefined;
    for (const ref of positionals) {
      try {
        const n = withNetworks((f) => {
          reclaim(f); // endpoints of containers that are gone or exited do not count
          return removeNetwork(f, ref);
        });
        emit("network", "destroy", { id: n.id, attributes: { name: n.name, type: "bridge" } });
        console.log(ref);
      } catch (e) {
        failed = (e as Error).message;
        log().error(failed);
      }
    }
    if (failed) process.exitCode = 1;
  },
  prune(raw) {
    const { options, positionals } = parseArgs(raw, forceArgs);
    expectCount("network prune", "", positionals, 0, 0);
    const want = labels([options.filter ?? []].flat().map((f) => String(f).replace(/^label=/, "")));
    const removed = withNetworks((f) => {
      reclaim(f);
      const unused = f.networks.filter((n) => Object.keys(n.endpoints).length === 0 && Object.entries(want).every(([k, v]) => k in n.labels && (!v || n.labels[k] === v)));
      return unused.map((n) => removeNetwork(f, n.name).name);
    });
    if (removed.length) console.log(`Deleted Networks:\n${removed.join("\n")}\n`);
  },
  connect(raw) {
    const { options, positionals } = parseArgs(raw, connectArgs);
    expectCount("network connect", "NETWORK CONTAINER", positionals, 2, 2);
    const state = findLive(positionals[1]!);
    const aliases = [options.alias ?? []].flat() as string[];
    for (const a of aliases) if (!HOST_NAME.test(a)) throw new UsageError(`invalid --alias "${a}": a host name (letters, digits, '.', '-')`);
    const ip = options.ip as string | undefined;
    if (ip !== undefined && !isIPv4(ip)) throw new UsageError(`invalid --ip "${ip}": not an IPv4 address`);
    connectRunning(state, positionals[0]!, { ip, aliases });
    emit("network", "connect", { id: positionals[0]!, attributes: { container: state.id } });
  },
  disconnect(raw) {
    const { positionals } = parseArgs(raw, { force: forceArgs.force });
    expectCount("network disconnect", "NETWORK CONTAINER", positionals, 2, 2);
    const state = findLive(positionals[1]!);
    disconnectRunning(state, positionals[0]!);
    emit("network", "disconnect", { id: positionals[0]!, attributes: { container: state.id } });
  },
};

export default defineCommand({
  meta: { name: "network", description: "Manage networks: create, ls, inspect, rm, connect, disconnect, prune" },
  args: { verb: { type: "positional", required: true, description: "create | ls | inspect | rm | connect | disconnect | prune" } },
  async run({ rawArgs }) {
    const [verb, ...rest] = rawArgs;
    const fn = verb === "list" ? verbs.ls : verb === "remove" ? verbs.rm : verbs[verb ?? ""];
    if (!fn) throw new FlagError(`unknown network command "${verb ?? ""}": use create, ls, inspect, rm, connect, disconnect or prune`);
    fn(rest);
  },
});
