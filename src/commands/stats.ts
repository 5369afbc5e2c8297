// `mydocker stats [-a] [--no-stream] [--format F] [CONTAINER...]`: docker's columns, read from each
// container's cgroup (v1: cpuacct.usage, memory.usage_in_bytes, pids.current,
// blkio.throttle.io_service_bytes; v2: cpu.stat, memory.current, pids.current, io.stat) and its
// network namespace (/proc/PID/net/dev). CPU % is the cgroup's CPU time over the wall time between
// two samples × 100 (100% = one CPU busy; docker's "over system time × online CPUs" is the same).
import { readFileSync } from "node:fs";
import { totalmem } from "node:os";
import { defineCommand } from "citty";
import { openCgroup, type Cgroup } from "../cgroups";
import { listLive, findLive } from "../state/live";
import type { ContainerState } from "../state/store";
import { bytesSize, formatRows, humanSize } from "../format";
import { parseCommand } from "./args";

const statsArgs = {
  all: { type: "boolean", alias: "a", description: "Show all containers (default shows just running)" },
  "no-stream": { type: "boolean", description: "Disable streaming stats and only pull the first result" },
  "no-trunc": { type: "boolean", description: "Do not truncate output" },
  format: { type: "string", valueHint: "table", description: "Format output: table, json, or a Go template" },
} as const;

export interface Sample {
  /** nanoseconds of CPU time */
  cpuNs: number;
  memUsage: number;
  memLimit: number;
  pids: number;
  blkRead: number;
  blkWrite: number;
  netRx: number;
  netTx: number;
  /** false: the cgroup is not there (stopped) */
  present: boolean;
  blkio: boolean;
  at: number;
}

/** v1 memory.stat / v2 memory.stat field, or 0. */
const statField = (text: string | undefined, key: string) => Number(new RegExp(`^${key} (\\d+)$`, "m").exec(text ?? "")?.[1] ?? 0);

/** blkio.throttle.io_service_bytes lines "MAJ:MIN Read N" / "Write N" summed over devices. */
export function parseBlkioV1(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const m of text.matchAll(/^\d+:\d+ (Read|Write) (\d+)$/gm)) {
    if (m[1] === "Read") read += Number(m[2]);
    else write += Number(m[2]);
  }
  return { read, write };
}

/** io.stat lines "MAJ:MIN rbytes=N wbytes=N ..." summed over devices. */
export function parseIoStatV2(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split("\n")) {
    read += Number(/\brbytes=(\d+)/.exec(line)?.[1] ?? 0);
    write += Number(/\bwbytes=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { read, write };
}

/** Bytes received and sent on every interface but lo (/proc/PID/net/dev, proc(5)). */
export function parseNetDev(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split("\n").slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === "lo") continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    rx += f[0] ?? 0;
    tx += f[8] ?? 0;
  }
  return { rx, tx };
}

function read(cg: Cgroup, name: string): string | undefined {
  try {
    return readFileSync(cg.file(name), "utf8");
  } catch {
    return undefined; // not mounted for us (v1 blkio), or the cgroup is gone
  }
}

/** Reads one sample of a container's cgroup (zeros, present false, when it has none). */
export function sample(s: ContainerState, cg: Cgroup | undefined): Sample {
  const at = performance.now();
  const empty: Sample = { cpuNs: 0, memUsage: 0, memLimit: 0, pids: 0, blkRead: 0, blkWrite: 0, netRx: 0, netTx: 0, present: false, blkio: false, at };
  if (!cg || (s.status !== "running" && s.status !== "paused")) return empty;
  const host = totalmem();
  let out: Sample;
  if (cg.version === 1) {
    const usage = read(cg, "memory.usage_in_bytes");
    if (usage === undefined) return empty;
    const limit = Number(read(cg, "memory.limit_in_bytes") ?? 0);
    const blk = read(cg, "blkio.throttle.io_service_bytes");
    const io = parseBlkioV1(blk ?? "");
    out = {
      ...empty,
      present: true,
      cpuNs: Number(read(cg, "cpuacct.usage") ?? 0),
      // docker (v1): usage minus the inactive page cache
      memUsage: Math.max(0, Number(usage) - statField(read(cg, "memory.stat"), "total_inactive_file")),
      memLimit: limit > 0 && limit < host ? limit : host,
      pids: Number(read(cg, "pids.current") ?? 0),
      blkio: blk !== undefined,
      blkRead: io.read,
      blkWrite: io.write,
    };
  } else {
    const usage = read(cg, "memory.current");
    if (usage === undefined) return empty;
    const max = (read(cg, "memory.max") ?? "max").trim();
    const io = read(cg, "io.stat");
    const rw = parseIoStatV2(io ?? "");
    out = {
      ...empty,
      present: true,
      cpuNs: statField(read(cg, "cpu.stat"), "usage_usec") * 1000,
      memUsage: Math.max(0, Number(usage) - statField(read(cg, "memory.stat"), "inactive_file")),
      memLimit: max === "max" || Number(max) >= host ? host : Number(max),
      pids: Number(read(cg, "pids.current") ?? 0),
      blkio: io !== undefined,
      blkRead: rw.read,
      blkWrite: rw.write,
    };
  }
  try {
    const net = parseNetDev(readFileSync(`/proc/${s.pid}/net/dev`, "utf8"));
    out.netRx = net.rx;
    out.netTx = net.tx;
  } catch {}
  return out;
}


/** One row, with docker's field names (`--format '{{.CPUPerc}}'`, `{{json .}}`). */
export interface StatsRow {
  BlockIO: string;
  CPUPerc: string;
  Container: string;
  ID: string;
  MemPerc: string;
  MemUsage: string;
  Name: string;
  NetIO: string;
  PIDs: string;
}

export function statsRow(s: ContainerState, before: Sample, now: Sample, ref: string, noTrunc = false): StatsRow {
  const id = noTrunc ? s.id : s.id.slice(0, 12);
  if (!now.present) {
    return { BlockIO: "--", CPUPerc: "--", Container: ref, ID: id, MemPerc: "--", MemUsage: "-- / --", Name: s.name, NetIO: "--", PIDs: "--" };
  }
  const wallNs = (now.at - before.at) * 1e6;
  const cpu = before.present && wallNs > 0 ? (Math.max(0, now.cpuNs - before.cpuNs) / wallNs) * 100 : 0;
  return {
    BlockIO: now.blkio ? `${humanSize(now.blkRead)} / ${humanSize(now.blkWrite)}` : "--",
    CPUPerc: `${cpu.toFixed(2)}%`,
    Container: ref,
    ID: id,
    MemPerc: `${(now.memLimit ? (now.memUsage / now.memLimit) * 100 : 0).toFixed(2)}%`,
    MemUsage: `${bytesSize(now.memUsage)} / ${bytesSize(now.memLimit)}`,
    Name: s.name,
    NetIO: `${humanSize(now.netRx)} / ${humanSize(now.netTx)}`,
    PIDs: String(now.pids),
  };
}

const HEADERS: Record<string, string> = {
  Container: "CONTAINER", ID: "CONTAINER ID", Name: "NAME", CPUPerc: "CPU %", MemUsage: "MEM USAGE / LIMIT", MemPerc: "MEM %", NetIO: "NET I/O", BlockIO: "BLOCK I/O", PIDs: "PIDS",
};
const DEFAULT_FORMAT = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/** Milliseconds between the two samples of a --no-stream reading, and between streamed screens. */
const INTERVAL_MS = Number(process.env.MYDOCKER_STATS_INTERVAL_MS) || 1000;

export default defineCommand({
  meta: { name: "stats", description: "Display a live stream of containers' resource usage statistics" },
  args: { ...statsArgs, container: { type: "positional", required: false } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("stats", rawArgs, statsArgs, 0, "[CONTAINER...]");
    const format = options.format as string | undefined;
    const noTrunc = options["no-trunc"] === true;
    const pick = (): [ContainerState, string][] =>
      positionals.length
        ? positionals.map((ref) => [findLive(ref), ref])
        : listLive()
            .filter((s) => options.all === true || s.status === "running" || s.status === "paused")
            .map((s) => [s, s.id.slice(0, 12)]);
    const cgroups = new Map<string, Cgroup | undefined>();
    const cgroupOf = (s: ContainerState) => {
      if (!cgroups.has(s.id)) {
        let cg: Cgroup | undefined;
        try {
          cg = openCgroup({ id: s.id, parent: s.cgroup.parent, selfCgroup: s.cgroup.selfCgroup });
        } catch {}
        cgroups.set(s.id, cg);
      }
      return cgroups.get(s.id);
    };
    let previous = new Map<string, Sample>();
    const take = () => {
      const now = new Map<string, { s: ContainerState; ref: string; sample: Sample }>();
      for (const [s, ref] of pick()) now.set(s.id, { s, ref, sample: sample(s, cgroupOf(s)) });
      return now;
    };
    const render = (now: ReturnType<typeof take>) =>
      formatRows(format, [...now.values()].map(({ s, ref, sample: cur }) => statsRow(s, previous.get(s.id) ?? cur, cur, ref, noTrunc)), {
        defaultFormat: DEFAULT_FORMAT,
        headers: HEADERS,
        view: (r) => r,
      });
    if (options["no-stream"]) {
      previous = new Map([...take()].map(([id, v]) => [id, v.sample]));
      await Bun.sleep(Math.min(INTERVAL_MS, 500));
      for (const line of render(take())) console.log(line);
      return;
    }
    for (;;) {
      const now = take();
      const lines = render(now);
      process.stdout.write(`${process.stdout.isTTY ? "\x1b[2J\x1b[H" : ""}${lines.join("\n")}\n`);
      previous = new Map([...now].map(([id, v]) => [id, v.sample]));
      await Bun.sleep(INTERVAL_MS);
    }
  },
});
