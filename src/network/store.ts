// The networks of one data root and what is allocated on them, in one JSON file
// (`<data-root>/networks.json`) read and written under one flock(2): creating a network,
// giving a container an address or a host port, and giving them back are each atomic, and two
// concurrent `run`s never get the same address.
//
// The file is replaced by rename(2) without fsync: after a crash of the machine every container
// is gone anyway, and an entry whose container is no longer running is taken back (reclaim) the
// next time the network hands out an address.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withFileLock } from "../fsutil";
import { dataRoot } from "../paths";
import { UsageError } from "../errors";

export interface Endpoint {
  container: string;
  /** the container's name, for /etc/hosts of its peers */
  name: string;
  hostname: string;
  aliases: string[];
  ip: string;
  mac: string;
  /** the host end of its veth pair (veth<id:10><n>), the container end's name inside */
  hostVeth: string;
  ifname: string;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: "bridge";
  subnet: string;
  gateway: string;
  /** the host's bridge link */
  bridge: string;
  internal: boolean;
  created: string;
  labels: Record<string, string>;
  /** the default network ("bridge"), made on first use */
  isDefault?: boolean;
  endpoints: Record<string, Endpoint>;
}

export interface PortBinding {
  container: string;
  /** "" = every address of the host */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: "tcp" | "udp";
  /** the container's address the port is forwarded to */
  ip: string;
}

export interface NetworkFile {
  networks: NetworkRecord[];
  ports: PortBinding[];
  /** net.ipv4.ip_forward before mydocker set it to 1 ("0"), so that it can be put back */
  ipForwardWas?: string;
  /** counts the whole rebuilds of the nftables table: a start that adds its own rules checks
   *  that nobody rebuilt it (with those rules already in) since it took its ports */
  tableGeneration?: number;
}

export const DEFAULT_NETWORK = "bridge";
/** `network ls` shows them, as docker does; they are modes, not bridges */
export const PSEUDO_NETWORKS = ["host", "none"] as const;

const storePath = () => join(dataRoot(), "networks.json");

/**
 * What a host-global name of this data root carries: nothing for the default data root
 * (bridge `mydocker0`, nft table `mydocker`), else a short hash of its path, so that two data roots
 * (a test suite's and the user's) never share a bridge or a table.
 */
export function hostTag(root = dataRoot()): string {
  return root === "/var/lib/mydocker" ? "" : Bun.hash.wyhash(root).toString(16).padStart(16, "0").slice(0, 6);
}
export const defaultBridgeName = (root = dataRoot()) => (hostTag(root) ? `mydocker-${hostTag(root)}` : "mydocker0");
export const nftTableName = (root = dataRoot()) => (hostTag(root) ? `mydocker_${hostTag(root)}` : "mydocker");

export const newNetworkId = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");

function read(): NetworkFile {
  if (!existsSync(storePath())) return { networks: [], ports: [] };
  const f = JSON.parse(readFileSync(storePath(), "utf8")) as NetworkFile;
  return { networks: f.networks ?? [], ports: f.ports ?? [], ipForwardWas: f.ipForwardWas, tableGeneration: f.tableGeneration };
}

function write(f: NetworkFile): void {
  const tmp = `${storePath()}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(f, null, 1), { mode: 0o600 });
  renameSync(tmp, storePath());
}

/** A write's temporary file whose writer is gone (killed between its write and its rename). */
function sweepStaleTemps(): void {
  const prefix = "networks.json.tmp-";
  for (const entry of readdirSync(dataRoot())) {
    if (entry.startsWith(prefix) && !existsSync(`/proc/${entry.slice(prefix.length)}`)) rmSync(join(dataRoot(), entry), { force: true });
  }
}

/** Reads the store under its lock, lets `fn` change it, writes it back when `fn` returns normally. */
export function withNetworks<T>(fn: (f: NetworkFile) => T): T {
  mkdirSync(dataRoot(), { recursive: true, mode: 0o711 });
  return withFileLock(join(dataRoot(), "networks.lock"), () => {
    sweepStaleTemps();
    const f = read();
    const before = JSON.stringify(f);
    const out = fn(f);
    if (JSON.stringify(f) !== before) write(f);
    return out;
  });
}

/** The store as it is now, without the lock (for listings). */
export const readNetworks = (): NetworkFile => read();

/** A network by name, full id or unique id prefix. */
export function findNetwork(f: NetworkFile, ref: string): NetworkRecord | undefined {
  const byName = f.networks.find((n) => n.name === ref);
  if (byName) return byName;
  if (!/^[0-9a-f]+$/.test(ref)) return undefined;
  const byId = f.networks.filter((n) => n.id.startsWith(ref));
  if (byId.length > 1) throw new UsageError(`network ${ref} is ambiguous: ${byId.length} networks match`);
  return byId[0];
}
