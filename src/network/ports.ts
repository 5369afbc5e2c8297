// `-p [HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/tcp|udp]`, docker's syntax, and choosing
// free host ports for `-P` and `-p CONTAINER_PORT`.
import { readFileSync } from "node:fs";
import { InvalidValue } from "../errors";
import { isIPv4 } from "./ipam";

export interface PortRequest {
  hostIp: string;
  /** 0: any free port */
  hostPort: number;
  containerPort: number;
  proto: "tcp" | "udp";
}

const port = (spec: string, s: string) => {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new InvalidValue(`invalid --publish "${spec}": ${s} is not a port (1-65535)`);
  return n;
};

function range(spec: string, s: string): [number, number] {
  const [a, b] = s.split("-");
  const lo = port(spec, a!);
  const hi = b === undefined ? lo : port(spec, b);
  if (hi < lo) throw new InvalidValue(`invalid --publish "${spec}": range ${s} ends before it starts`);
  return [lo, hi];
}

/** One -p value -> one request per port (ranges expanded). */
export function parsePublish(spec: string): PortRequest[] {
  let rest = spec;
  let proto: "tcp" | "udp" = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    const p = rest.slice(slash + 1);
    if (p !== "tcp" && p !== "udp") throw new InvalidValue(`invalid --publish "${spec}": protocol ${p} (tcp or udp)`);
    proto = p;
    rest = rest.slice(0, slash);
  }
  const parts = rest.split(":");
  if (parts.length > 3 || parts.some((p, i) => p === "" && !(parts.length === 3 && i === 1))) throw new InvalidValue(`invalid --publish "${spec}": [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]`);
  const [hostIp, hostPart, containerPart] = parts.length === 3 ? parts : parts.length === 2 ? ["", parts[0]!, parts[1]!] : ["", "", parts[0]!];
  if (hostIp && !isIPv4(hostIp)) throw new InvalidValue(`invalid --publish "${spec}": ${hostIp} is not an IPv4 address`);
  const [c0, c1] = range(spec, containerPart!);
  const [h0, h1] = hostPart ? range(spec, hostPart) : [0, 0];
  if (hostPart && h1 - h0 !== c1 - c0 && h0 !== h1) throw new InvalidValue(`invalid --publish "${spec}": host and container ranges differ in size`);
  const out: PortRequest[] = [];
  for (let c = c0; c <= c1; c++) out.push({ hostIp: hostIp === "0.0.0.0" ? "" : hostIp!, hostPort: hostPart ? (h0 === h1 ? h0 : h0 + (c - c0)) : 0, containerPort: c, proto });
  return out;
}

/** The image's ExposedPorts ("80/tcp": {}) and --expose values -> [port, proto] pairs. */
export function exposedPorts(exposed: string[]): { port: number; proto: "tcp" | "udp" }[] {
  const out: { port: number; proto: "tcp" | "udp" }[] = [];
  for (const e of exposed) {
    const [r, p = "tcp"] = e.split("/");
    const [a, b] = r!.split("-").map(Number);
    for (let n = a!; n <= (b ?? a!); n++) out.push({ port: n, proto: p as "tcp" | "udp" });
  }
  return out;
}

/**
 * A host port nobody uses: one of the ephemeral range (ip-sysctl.txt, ip_local_port_range, read
 * from /proc) on which nothing on the host listens (/proc/net) and that mydocker has not published
 * already. docker's port allocator takes them from the same range.
 */
export function freeHostPort(proto: "tcp" | "udp", taken: Set<number>): number {
  let [lo, hi] = [49153, 60999];
  try {
    [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number) as [number, number];
  } catch {}
  for (let tries = 0; tries < 200; tries++) {
    const p = lo + Math.floor(Math.random() * (hi - lo + 1));
    if (!taken.has(p) && !hostPortInUse(proto, p)) return p;
  }
  throw new InvalidValue(`no free host port in ${lo}-${hi}`);
}

/** "0.0.0.0:8080->80/tcp", docker's PORTS column and `port` output pieces. */
export const formatBinding = (b: { hostIp: string; hostPort: number; containerPort: number; proto: string }) => `${b.hostIp || "0.0.0.0"}:${b.hostPort}->${b.containerPort}/${b.proto}`;

/** Is something on the host listening on this port already? (/proc/net/tcp, udp: hex local port) */
export function hostPortInUse(proto: "tcp" | "udp", p: number): boolean {
  const hex = p.toString(16).toUpperCase().padStart(4, "0");
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) continue;
      const local = cols[1]!.split(":")[1];
      // tcp: state 0A = LISTEN; udp: any bound socket
      if (local === hex && (proto === "udp" || cols[3] === "0A")) return true;
    }
  }
  return false;
}
