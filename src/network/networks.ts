// Bridge networks: made (`network create`, or the default one on first use) and removed. A
// network is a record in the store, a bridge link holding the gateway address, and its rules in
// mydocker's nftables table (nft.ts).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { RouteSocket, linkIndex } from "../../ffi/netlink";
import { UsageError } from "../errors";
import { applyTable } from "./nft";
import { macFor, assignable, broadcastOf, defaultSubnets, firstHost, formatSubnet, intToIp, ipToInt, isIPv4, overlaps, parseSubnet, type Subnet } from "./ipam";
import { DEFAULT_NETWORK, PSEUDO_NETWORKS, defaultBridgeName, findNetwork, newNetworkId, type NetworkFile, type NetworkRecord } from "./store";

export interface CreateNetworkOptions {
  name: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  labels?: Record<string, string>;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Adds a network to `f` and makes its bridge and rules; undone entirely when a step fails. */
export function createNetwork(f: NetworkFile, o: CreateNetworkOptions, isDefault = false): { network: NetworkRecord; notice?: string } {
  if (!NAME.test(o.name)) throw new UsageError(`invalid network name "${o.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  if ((PSEUDO_NETWORKS as readonly string[]).includes(o.name) || (o.name === DEFAULT_NETWORK && !isDefault)) throw new UsageError(`network with name ${o.name} already exists (a predefined network)`);
  if (f.networks.some((n) => n.name === o.name)) throw new UsageError(`network with name ${o.name} already exists`);
  const subnet = o.subnet ? parseSubnet(o.subnet) : freeSubnet(f);
  const clash = [...hostSubnets(), ...f.networks.map((n) => parseSubnet(n.subnet))].find((s) => overlaps(s, subnet));
  if (o.subnet && clash) throw new UsageError(`invalid --subnet ${o.subnet}: overlaps ${formatSubnet(clash)}, already in use on this host`);
  let gateway = firstHost(subnet);
  if (o.gateway !== undefined) {
    if (!isIPv4(o.gateway) || !assignable(subnet, -1, ipToInt(o.gateway))) throw new UsageError(`invalid --gateway "${o.gateway}": not a host address of ${formatSubnet(subnet)}`);
    gateway = ipToInt(o.gateway);
  }
  const id = newNetworkId();
  const network: NetworkRecord = {
    id,
    name: o.name,
    driver: "bridge",
    subnet: formatSubnet(subnet),
    gateway: intToIp(gateway),
    bridge: isDefault ? defaultBridgeName() : `br-${id.slice(0, 12)}`,
    internal: o.internal === true,
    created: new Date().toISOString(),
    labels: o.labels ?? {},
    ...(isDefault ? { isDefault: true } : {}),
    endpoints: {},
  };
  makeBridge(network, subnet);
  f.networks.push(network);
  try {
    return { network, notice: applyTable(f) };
  } catch (e) {
    f.networks.pop();
    removeBridge(network);
    throw e;
  }
}

/** Makes the default network if it is not there yet; returns what createNetwork had to say. */
export function defaultNetworkNotice(f: NetworkFile): string | undefined {
  if (f.networks.some((n) => n.isDefault)) return undefined;
  return createNetwork(f, { name: DEFAULT_NETWORK }, true).notice;
}

/**
 * The network's bridge, made again when it is not there (after a reboot, or removed by hand),
 * with the table, which went with it then. A link lookup when all is well.
 */
export function ensureBridge(f: NetworkFile, n: NetworkRecord): void {
  if (linkIndex(n.bridge)) return;
  makeBridge(n, parseSubnet(n.subnet));
  applyTable(f);
}

/** Removes a network with no containers: its rules, its bridge, its record. */
export function removeNetwork(f: NetworkFile, ref: string): NetworkRecord {
  if ((PSEUDO_NETWORKS as readonly string[]).includes(ref)) throw new UsageError(`${ref} is a pre-defined network and cannot be removed`);
  const n = findNetwork(f, ref);
  if (!n) throw new UsageError(`network ${ref} not found`);
  const users = Object.values(n.endpoints);
  if (users.length) throw new UsageError(`error while removing network: network ${n.name} id ${n.id} has active endpoints (${users.map((e) => e.name).join(", ")})`);
  f.networks = f.networks.filter((x) => x !== n);
  applyTable(f);
  removeBridge(n);
  return n;
}

/**
 * The bridge link with the gateway's address (`ip link add NAME type bridge; ip addr add
 * GW/PREFIX dev NAME`), and route_localnet on it: the host's own 127.0.0.1 may then be sent on
 * to a container's published port (ip-sysctl.txt, route_localnet).
 */
function makeBridge(n: NetworkRecord, subnet: Subnet): void {
  const rs = new RouteSocket();
  try {
    if (linkIndex(n.bridge)) {
      // the default bridge's name is ours alone (it derives from the data root): a link by that
      // name with no record is what a start killed while making it left; make it again
      if (!n.isDefault) throw new UsageError(`cannot create network ${n.name}: a link named ${n.bridge} already exists on this host`);
      rs.deleteLink(n.bridge);
    }
    rs.addBridge(n.bridge, macFor(ipToInt(n.gateway)));
    try {
      rs.addAddress(linkIndex(n.bridge), n.gateway, subnet.prefix, intToIp(broadcastOf(subnet)));
      writeFileSync(`/proc/sys/net/ipv4/conf/${n.bridge}/route_localnet`, "1");
    } catch (e) {
      rs.deleteLink(n.bridge);
      throw e;
    }
  } finally {
    rs.close();
  }
}

function removeBridge(n: NetworkRecord): void {
  const rs = new RouteSocket();
  try {
    rs.deleteLink(n.bridge);
  } finally {
    rs.close();
  }
}

/** The first default pool that overlaps neither the host's routes nor another network. */
function freeSubnet(f: NetworkFile): Subnet {
  const used = [...hostSubnets(), ...f.networks.map((n) => parseSubnet(n.subnet))];
  for (const s of defaultSubnets()) if (!used.some((u) => overlaps(u, s))) return s;
  throw new UsageError("could not find an available, non-overlapping IPv4 address pool among the defaults: give --subnet");
}

/**
 * The subnets the host routes already (/proc/net/route: destination and mask in hex, in the
 * host's byte order — little-endian here), the default route excepted.
 */
export function hostSubnets(): Subnet[] {
  if (!existsSync("/proc/net/route")) return [];
  const out: Subnet[] = [];
  for (const line of readFileSync("/proc/net/route", "utf8").split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8) continue;
    const dest = swap(parseInt(cols[1]!, 16));
    const mask = swap(parseInt(cols[7]!, 16));
    if (mask === 0) continue;
    out.push({ base: dest, prefix: popcount(mask) });
  }
  return out;
}

const swap = (n: number) => (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | ((n >>> 24) & 0xff)) >>> 0;
function popcount(n: number): number {
  let c = 0;
  for (let x = n >>> 0; x; x >>>= 1) c += x & 1;
  return c;
}

/**
 * Removes every network of the data root with its bridge and table, whatever still uses them
 * (their containers must be gone: a test suite's end, or a data root about to be deleted).
 */
export function dismantleNetworks(f: NetworkFile): void {
  const all = f.networks;
  f.networks = [];
  f.ports = [];
  applyTable(f);
  for (const n of all) removeBridge(n);
}
