// `mydocker logs [-f] [--tail N] [-t] [--since T] [--until T] [--details] NAME`: what a detached
// container wrote, stdout and stderr in order, across its rotated log files (oldest first).
import { closeSync, writeSync } from "node:fs";
import { defineCommand } from "citty";
import { FlagError } from "../cli/argv";
import { fixedNanoTime, LogFollower, openLogChain, readLogFd, type LogEntry } from "../containers/logs";
import { findLive, monitorAlive } from "../state/live";
import { logPath, readState } from "../state/store";
import { parseCommand } from "./args";

const args = {
  follow: { type: "boolean", alias: "f", description: "Follow the output until the container ends" },
  tail: { type: "string", alias: "n", valueHint: "N", description: "Only the last N lines" },
  timestamps: { type: "boolean", alias: "t", description: "Show the time of each line" },
  since: { type: "string", valueHint: "TIME", description: "Only lines since TIME (RFC 3339, Unix seconds, or relative: 10m, 1h30m)" },
  until: { type: "string", valueHint: "TIME", description: "Only lines before TIME (same forms as --since)" },
  details: { type: "boolean", description: "Show the extra attributes of each line (none are recorded: a space)" },
} as const;

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * docker's time forms for --since/--until, as milliseconds since the epoch: RFC 3339 (with or
 * without a zone, UTC then), Unix seconds with an optional fraction, or a Go duration (`10m`,
 * `1h30m`, `90s`) back from `now`.
 */
export function parseLogTime(text: string, flag: string, now = Date.now()): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.floor(Number(t) * 1000);
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(t)) {
    let ms = 0;
    for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    return now - ms;
  }
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+)?(Z|[+-]\d{2}:\d{2})?$/.test(t)) {
    const zoned = /T/.test(t) && !/(Z|[+-]\d{2}:\d{2})$/.test(t) ? `${t}Z` : t;
    const ms = Date.parse(zoned);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new FlagError(`invalid ${flag} "${text}": expected an RFC 3339 time, Unix seconds or a duration such as 10m`);
}

export default defineCommand({
  meta: { name: "logs", description: "Show a container's output" },
  args: { ...args, container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("logs", rawArgs, args, 1, "CONTAINER");
    const tail = options.tail === undefined || options.tail === "all" ? Infinity : Number(options.tail);
    if (!(tail >= 0)) throw new FlagError(`invalid --tail "${options.tail}": expected a number or "all"`);
    const since = options.since === undefined ? -Infinity : parseLogTime(options.since as string, "--since");
    const until = options.until === undefined ? Infinity : parseLogTime(options.until as string, "--until");
    const state = findLive(positionals[0]!);
    const inRange = (e: LogEntry) => {
      const t = Date.parse(e.time);
      return t >= since && t < until;
    };
    const print = (e: LogEntry) => {
      if (!inRange(e)) return;
      const text = `${options.timestamps ? `${fixedNanoTime(e.time)} ` : ""}${options.details ? " " : ""}${e.log}`;
      writeOut(e.stream === "stdout" ? 1 : 2, text);
    };
    // Every file at once (a consistent set), then read: a rotation meanwhile neither repeats nor reorders lines.
    const chain = openLogChain(logPath(state.id));
    const shown: LogEntry[] = [];
    let offset = 0;
    for (const f of chain) {
      const r = readLogFd(f.fd, 0);
      shown.push(...r.entries.filter(inRange));
      offset = r.next;
    }
    chain.slice(0, -1).forEach((f) => closeSync(f.fd));
    const follower = LogFollower.from(logPath(state.id), chain.at(-1), offset);
    shown.slice(Math.max(0, shown.length - tail)).forEach(print);
    // docker: --until ends a follow at that time
    if (!options.follow || until <= Date.now()) return follower.close();
    // The monitor writes all output before it records the exit: one last read after we see the
    // container ended gets everything.
    for (;;) {
      const now = readState(state.id);
      // ended: exit recorded (and no restart coming), record gone, or no monitor left to write
      const ended = !now || (now.status === "exited" && !now.restarting) || !monitorAlive(now);
      follower.read().forEach(print);
      if (ended || Date.now() >= until) return follower.close();
      await Bun.sleep(100);
    }
  },
});

/**
 * All of `text` to fd 1 or 2: a pipe may be non-blocking (Bun makes stdout one) and take less than
 * asked, or wait for its reader (EAGAIN); a reader that went away (`logs | head`) ends us quietly.
 */
function writeOut(fd: number, text: string): void {
  const b = Buffer.from(text);
  for (let off = 0; off < b.length; ) {
    try {
      off += writeSync(fd, b, off, b.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EPIPE") process.exit(0);
      if (code !== "EAGAIN" && code !== "EINTR") throw e;
      Bun.sleepSync(1);
    }
  }
}
