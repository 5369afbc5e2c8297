// Each container's /etc/hostname, /etc/hosts and /etc/resolv.conf: files in its state directory,
// bind-mounted over the image's (which stays untouched), as docker does. Containers on one
// user-defined network find each other by name through a section of /etc/hosts that mydocker
// rewrites in place (the bind mount pins the inode) whenever one joins or leaves.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { containerDir } from "../state/store";
import type { Mount } from "../spec";
import type { NetworkFile } from "./store";
import type { NetworkRequest } from "./options";

/** A mount option of ours (not mount(8)'s): the init skips the bind when the target is missing. */
export const OPTIONAL_BIND = "x-mydocker.optional";

export const ETC_FILES = ["hostname", "hosts", "resolv.conf"] as const;
export const etcPath = (id: string, file: (typeof ETC_FILES)[number]) => join(containerDir(id), file);

const LOCAL = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];
const PEERS = "# containers on the same user-defined networks (kept up to date by mydocker)";

/** The bind mounts of the three files; a `container:` network shares the other's files. */
export function etcMounts(id: string, req: Pick<NetworkRequest, "mode" | "container">): Mount[] {
  const owner = req.mode === "container" ? req.container! : id;
  return ETC_FILES.map((f) => ({
    destination: `/etc/${f}`,
    type: "bind",
    source: etcPath(req.mode === "container" && f !== "hostname" ? owner : id, f),
    // only over a file the root has: never made in a root used in place (--rootfs), which may be
    // read-only or the user's own, nor added to an image's layer (it would show in `diff`)
    options: ["rbind", "rprivate", OPTIONAL_BIND],
  }));
}

export interface OwnAddress {
  ip: string;
  /** on a user-defined network, its name and aliases resolve to it too */
  names: string[];
}

/** Writes the three files of a container about to start; an error names the file. */
export function writeEtcFiles(id: string, hostname: string, req: NetworkRequest, own: OwnAddress[], gateway?: string): void {
  try {
    writeAll(id, hostname, req, own, gateway);
  } catch (e) {
    throw new Error(`cannot write the container's /etc/hosts, hostname or resolv.conf: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function writeAll(id: string, hostname: string, req: NetworkRequest, own: OwnAddress[], gateway?: string): void {
  writeFileSync(etcPath(id, "hostname"), `${hostname}\n`, { mode: 0o644 });
  if (req.mode === "container") return; // it uses the other container's hosts and resolv.conf
  if (req.mode === "host") {
    writeFileSync(etcPath(id, "hosts"), readHost("/etc/hosts"), { mode: 0o644 });
    writeFileSync(etcPath(id, "resolv.conf"), readHost("/etc/resolv.conf"), { mode: 0o644 });
    return;
  }
  const lines = [...LOCAL];
  for (const h of req.addHosts) {
    const at = h.indexOf(":");
    const ip = h.slice(at + 1) === "host-gateway" ? gateway ?? "127.0.0.1" : h.slice(at + 1);
    lines.push(`${ip}\t${h.slice(0, at)}`);
  }
  for (const a of own) lines.push(`${a.ip}\t${[hostname, ...a.names.filter((n) => n !== hostname)].join(" ")}`);
  const head = lines.join("\n") + "\n";
  writeFileSync(etcPath(id, "hosts"), head, { mode: 0o644 });
  writeFileSync(`${etcPath(id, "hosts")}.head`, head, { mode: 0o600 }); // for refreshPeers
  writeFileSync(etcPath(id, "resolv.conf"), resolvConf(readHost("/etc/resolv.conf"), req), { mode: 0o644 });
}

const readHost = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");

/**
 * docker's rule: the host's resolv.conf without loopback resolvers (unreachable from another
 * network namespace); --dns and --dns-search replace those lines; no resolver left -> docker's
 * defaults (8.8.8.8, 8.8.4.4).
 */
export function resolvConf(host: string, req: Pick<NetworkRequest, "dns" | "dnsSearch">): string {
  const kept: string[] = [];
  let servers = req.dns.length ? [...req.dns] : [];
  for (const line of host.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === "nameserver") {
      if (!req.dns.length && value && !value.startsWith("127.") && value !== "::1") servers.push(value);
      continue;
    }
    if ((key === "search" || key === "domain") && req.dnsSearch.length) continue;
    if (line.trim()) kept.push(line.trim());
  }
  if (servers.length === 0) servers = ["8.8.8.8", "8.8.4.4"];
  const search = req.dnsSearch.length ? [`search ${req.dnsSearch.join(" ")}`] : [];
  return [...search, ...kept, ...servers.map((s) => `nameserver ${s}`)].join("\n") + "\n";
}

/**
 * Rewrites the peers section of every container on the user-defined networks of `f` (or only
 * those named): each lists the others it shares a network with, by name and aliases. Written in
 * place: the file is bind-mounted, a rename would leave the container with the old inode.
 */
export function refreshPeers(f: NetworkFile, networks: string[]): void {
  const touched = new Set<string>();
  for (const n of f.networks) if (!n.isDefault && networks.includes(n.name)) for (const c of Object.keys(n.endpoints)) touched.add(c);
  for (const c of touched) {
    const peers: string[] = [];
    for (const n of f.networks) {
      if (n.isDefault || !n.endpoints[c]) continue;
      for (const e of Object.values(n.endpoints)) if (e.container !== c) peers.push(`${e.ip}\t${[e.name, ...e.aliases, e.hostname].filter((x, i, a) => a.indexOf(x) === i).join(" ")}`);
    }
    // Best effort, one file at a time: the file is the container's to write (a bind mount), so a
    // huge or broken one must not fail anyone else's start or release. The head is what mydocker
    // wrote (kept beside it), never read back from the container's copy.
    try {
      const head = readFileSync(`${etcPath(c, "hosts")}.head`, "utf8");
      writeFileSync(etcPath(c, "hosts"), peers.length ? `${head}${PEERS}\n${peers.join("\n")}\n` : head);
    } catch {}
  }
}
