// docker's network flags of `run`/`create`, and what they ask for (a NetworkRequest, recorded in
// the container's state and carried out at each start by attach.ts).
import { InvalidValue, UsageError } from "../errors";
import type { OptionValues } from "../cli/argv";
import { isIPv4 } from "./ipam";
import { parsePublish, type PortRequest } from "./ports";

export const networkArgs = {
  network: { type: "string", alias: "net", valueHint: "bridge", description: "Connect to a network: bridge (default), none, host, container:NAME|ID, or a network's name" },
  publish: { type: "string", alias: "p", valueHint: "[IP:]HOST:CONTAINER[/udp]...", description: "Publish a container's port(s) on the host (repeatable, ranges)" },
  "publish-all": { type: "boolean", alias: "P", description: "Publish every exposed port on a free host port" },
  expose: { type: "string", valueHint: "PORT[/udp]...", description: "Expose a port or a range (repeatable)" },
  ip: { type: "string", valueHint: "172.18.0.10", description: "IPv4 address on the network (user-defined networks)" },
  dns: { type: "string", valueHint: "IP...", description: "A DNS server for /etc/resolv.conf (repeatable)" },
  "dns-search": { type: "string", valueHint: "DOMAIN...", description: "A DNS search domain (repeatable)" },
  "add-host": { type: "string", valueHint: "HOST:IP...", description: "Add a line to /etc/hosts (repeatable)" },
  "network-alias": { type: "string", valueHint: "ALIAS...", description: "Another name on a user-defined network (repeatable)" },
} as const;

export type NetworkMode = "bridge" | "none" | "host" | "container";

export interface NetworkRequest {
  mode: NetworkMode;
  /** mode bridge: the network's name ("bridge": the default one) */
  network?: string;
  /** mode container: the container whose network namespace is shared (its id) */
  container?: string;
  ip?: string;
  aliases: string[];
  ports: PortRequest[];
  publishAll: boolean;
  expose: string[];
  dns: string[];
  dnsSearch: string[];
  /** "name:ip" */
  addHosts: string[];
}

/** What may stand in /etc/hosts: a host name (RFC 1123 labels), never whitespace or a newline. */
export const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

const list = (o: OptionValues, k: string) => (o[k] as string[] | undefined) ?? [];

/** The flags -> a NetworkRequest; `resolveContainer` turns container:REF into an id. Touches nothing. */
export function networkRequest(o: OptionValues, resolveContainer: (ref: string) => string): NetworkRequest {
  const spelled = (o.network as string | undefined) ?? "bridge";
  if (spelled === "") throw new InvalidValue(`invalid --network "": give bridge, none, host, container:NAME or a network name`);
  let mode: NetworkMode = "bridge";
  let network: string | undefined = spelled === "default" ? "bridge" : spelled;
  let container: string | undefined;
  if (spelled === "none" || spelled === "host") (mode = spelled), (network = undefined);
  else if (spelled.startsWith("container:")) {
    const ref = spelled.slice("container:".length);
    if (!ref) throw new InvalidValue(`invalid --network "${spelled}": container:NAME or container:ID`);
    (mode = "container"), (network = undefined), (container = resolveContainer(ref));
  }
  const ip = o.ip as string | undefined;
  if (ip !== undefined) {
    if (!isIPv4(ip)) throw new InvalidValue(`invalid --ip "${ip}": not an IPv4 address`);
    if (mode !== "bridge" || network === "bridge") throw new UsageError(`--ip: user specified IP address is supported only on user-defined networks`);
  }
  const aliases = list(o, "network-alias");
  for (const a of aliases) if (!HOST_NAME.test(a)) throw new InvalidValue(`invalid --network-alias "${a}": a host name (letters, digits, '.', '-')`);
  if (aliases.length && (mode !== "bridge" || network === "bridge")) throw new UsageError("--network-alias: network-scoped aliases are supported only on user-defined networks");
  const ports = list(o, "publish").flatMap(parsePublish);
  const expose = list(o, "expose");
  for (const e of expose) if (!/^\d+(-\d+)?(\/(tcp|udp))?$/.test(e)) throw new InvalidValue(`invalid --expose "${e}": PORT[-END][/tcp|udp]`);
  if ((ports.length || o["publish-all"]) && mode !== "bridge") throw new UsageError(`published ports are discarded with --network ${spelled}: use a bridge network`);
  const dns = list(o, "dns");
  for (const d of dns) if (!isIPv4(d)) throw new InvalidValue(`invalid --dns "${d}": not an IPv4 address`);
  const addHosts = list(o, "add-host");
  for (const h of addHosts) {
    const at = h.indexOf(":");
    if (at <= 0 || !HOST_NAME.test(h.slice(0, at)) || (!isIPv4(h.slice(at + 1)) && h.slice(at + 1) !== "host-gateway")) throw new InvalidValue(`invalid --add-host "${h}": HOST:IP`);
  }
  if (mode === "container" && (dns.length || addHosts.length || list(o, "dns-search").length)) throw new UsageError(`conflicting options: --dns, --dns-search and --add-host cannot be used with --network container:`);
  for (const d of list(o, "dns-search")) if (!HOST_NAME.test(d)) throw new InvalidValue(`invalid --dns-search "${d}": a domain name`);
  return { mode, network, container, ip, aliases, ports, publishAll: o["publish-all"] === true, expose, dns, dnsSearch: list(o, "dns-search"), addHosts };
}
