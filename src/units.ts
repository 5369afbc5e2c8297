// Parsers for the resource flags of `run`. Each returns a number or throws a one-line message.
import { readFileSync } from "node:fs";
import { InvalidValue } from "./errors";
export { InvalidValue };


const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `100m`, `1g`, `512k`, `1048576` -> bytes (docker's RAMInBytes, binary units). */
export function parseBytes(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(text.trim());
  if (!m) throw new InvalidValue(`invalid ${flag} "${text}": expected a size like 100m (units b, k, m, g)`);
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (bytes <= 0) throw new InvalidValue(`invalid ${flag} "${text}": must be greater than 0`);
  return bytes;
}

/** `--memory`: docker refuses limits under 6 MiB (the runtime itself would not fit). */
export function parseMemory(text: string): number {
  const bytes = parseBytes("--memory", text);
  if (bytes < 6 * 1024 ** 2) throw new InvalidValue(`invalid --memory "${text}": minimum memory limit is 6m`);
  return bytes;
}

export function parseInteger(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(text.trim())) throw new InvalidValue(`invalid ${flag} "${text}": expected an integer`);
  const n = Number(text);
  if (n < min || n > max) throw new InvalidValue(`invalid ${flag} "${text}": must be between ${min} and ${max}`);
  return n;
}

export const CFS_PERIOD_US = 100_000;

/** `--cpus 1.5` -> CFS quota per 100 ms period; at most the CPUs online. */
export function parseCpus(text: string, online = onlineCpus().length): { quota: number; period: number } {
  const n = Number(text);
  if (!/^\d*\.?\d+$/.test(text.trim()) || !(n > 0)) throw new InvalidValue(`invalid --cpus "${text}": must be a positive number`);
  if (n > online) throw new InvalidValue(`invalid --cpus "${text}": only ${online} CPUs are available`);
  return { quota: Math.round(n * CFS_PERIOD_US), period: CFS_PERIOD_US };
}

/** Expands a cpu list (`0-2,4`) into its numbers; throws on bad syntax. */
export function parseCpuList(flag: string, text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new InvalidValue(`invalid ${flag} "${text}": expected a list like 0-2,4`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new InvalidValue(`invalid ${flag} "${text}": range ${part} is reversed`);
    for (let c = lo; c <= hi; c++) cpus.push(c);
  }
  return cpus;
}

/** `--cpuset-cpus`: every CPU named must be online. Returns the text as given (the kernel's format). */
export function parseCpuset(text: string, online = onlineCpus()): string {
  for (const cpu of parseCpuList("--cpuset-cpus", text)) {
    if (!online.includes(cpu)) {
      throw new InvalidValue(`invalid --cpuset-cpus "${text}": CPU ${cpu} does not exist (online: ${formatList(online)})`);
    }
  }
  return text.trim();
}

export function onlineCpus(): number[] {
  return parseCpuList("cpu list", readFileSync("/sys/devices/system/cpu/online", "utf8").trim());
}

function formatList(cpus: number[]): string {
  return cpus.length ? `${cpus[0]}-${cpus[cpus.length - 1]}` : "none";
}
