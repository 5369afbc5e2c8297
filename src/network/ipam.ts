// IPv4 address arithmetic for IPAM: CIDR parsing, the usable range of a subnet, overlap, and the
// subnets docker hands out by default. Pure functions; the store (store.ts) persists choices.
import { UsageError } from "../errors";

export interface Subnet {
  /** the network address as a 32-bit number */
  base: number;
  prefix: number;
}

export const ipToInt = (ip: string): number => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
export const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
const mask = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** "172.17.0.0/16" -> Subnet; host bits must be zero, as docker requires. */
export function parseSubnet(cidr: string, flag = "--subnet"): Subnet {
  const [ip, p] = cidr.split("/");
  const prefix = Number(p);
  if (!ip || !isIPv4(ip) || p === undefined || !/^\d+$/.test(p) || prefix < 8 || prefix > 30) throw new UsageError(`invalid ${flag} "${cidr}": an IPv4 CIDR with a prefix of 8 to 30 (e.g. 172.18.0.0/16)`);
  const n = ipToInt(ip);
  if ((n & ~mask(prefix)) >>> 0 !== 0) throw new UsageError(`invalid ${flag} "${cidr}": host bits set (did you mean ${intToIp((n & mask(prefix)) >>> 0)}/${prefix}?)`);
  return { base: n, prefix };
}

export const formatSubnet = (s: Subnet) => `${intToIp(s.base)}/${s.prefix}`;
export const broadcastOf = (s: Subnet) => (s.base | ~mask(s.prefix)) >>> 0;
export const contains = (s: Subnet, ip: number) => ((ip & mask(s.prefix)) >>> 0) === s.base;
export const overlaps = (a: Subnet, b: Subnet) => contains(a, b.base) || contains(b, a.base);

/** The first usable address (the gateway docker picks): network address + 1. */
export const firstHost = (s: Subnet) => s.base + 1;

/**
 * The lowest address of `s` that is neither the network, the broadcast, `gateway` nor in `taken`
 * (all numbers); undefined when the subnet is full.
 */
export function nextFree(s: Subnet, gateway: number, taken: Set<number>): number | undefined {
  const last = broadcastOf(s) - 1;
  for (let ip = s.base + 1; ip <= last; ip++) if (ip !== gateway && !taken.has(ip)) return ip;
  return undefined;
}

/** Is `ip` an address a container may be given in `s` (not network, broadcast or gateway)? */
export function assignable(s: Subnet, gateway: number, ip: number): boolean {
  return contains(s, ip) && ip !== s.base && ip !== broadcastOf(s) && ip !== gateway;
}

/**
 * Docker's default pools, in its order: 172.17-31.0.0/16, then 192.168.0.0/20 steps. The first
 * that overlaps nothing in `used` (the host's routes and addresses, other networks) is taken.
 */
export function* defaultSubnets(): Generator<Subnet> {
  for (let b = 17; b <= 31; b++) yield { base: ipToInt(`172.${b}.0.0`), prefix: 16 };
  for (let c = 0; c < 256; c += 16) yield { base: ipToInt(`192.168.${c}.0`), prefix: 20 };
}

/** A locally administered MAC from the address, as docker derives it: 02:42 + the four octets. */
export const macFor = (ip: number) => ["02", "42", ...[24, 16, 8, 0].map((s) => ((ip >>> s) & 255).toString(16).padStart(2, "0"))].join(":");
