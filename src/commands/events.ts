// `mydocker events [--since T] [--until T] [--filter K=V]... [--format F]`: the events log
// (src/events.ts), oldest first; without --until it then follows new events until interrupted.
// Times as docker takes them: RFC 3339 dates, unix seconds (with a fraction), or Go durations
// before now ("10m", "1h30m").
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { defineCommand } from "citty";
import { FlagError, UsageError } from "../cli/argv";
import { eventsPath, rotatedEventsPath, type EventMessage } from "../events";
import { parseCommand } from "./args";
import { labelMatches } from "./filters";
import { formatOne } from "../format";
import { compileTemplate, goMap } from "../format/template";

const eventsArgs = {
  since: { type: "string", description: "Show all events created since timestamp" },
  until: { type: "string", description: "Stream events until this timestamp" },
  filter: { type: "string", alias: "f", valueHint: "key=value...", description: "Filter output based on conditions provided" },
  format: { type: "string", description: "Format output: json, or a Go template" },
} as const;

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A time as docker's --since/--until take it, in milliseconds since the epoch. */
export function parseEventTime(text: string, now = Date.now()): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const d = /^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(t) ? t : undefined;
  if (d) {
    let ms = 0;
    for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    return now - ms; // "10m": ten minutes ago (the sign is ignored, as docker does)
  }
  // RFC 3339 (and its date-only and no-zone forms, which docker reads as local time)
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const ms = Date.parse(t.length === 10 ? `${t}T00:00:00` : t.replace(" ", "T"));
    if (!Number.isNaN(ms)) return ms;
  }
  throw new FlagError(`invalid time "${text}": use RFC 3339 (2006-01-02T15:04:05Z), unix seconds, or a duration like 10m`);
}

const FILTER_KEYS = ["type", "event", "container", "image", "volume", "network", "label"];

/** key -> accepted values; values of one key are alternatives, keys must all match (docker's rule). */
export function parseFilters(list: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of list) {
    const i = f.indexOf("=");
    const key = i > 0 ? f.slice(0, i) : "";
    if (!FILTER_KEYS.includes(key)) throw new UsageError(`invalid filter '${f}': use ${FILTER_KEYS.map((k) => `${k}=...`).join(", ")}`);
    out.set(key, [...(out.get(key) ?? []), f.slice(i + 1)]);
  }
  return out;
}

export function matches(e: EventMessage, filters: Map<string, string[]>): boolean {
  const name = e.Actor.Attributes.name ?? "";
  const idMatch = (v: string) => e.Actor.ID === v || (v.length >= 1 && /^[0-9a-f]+$/.test(v) && e.Actor.ID.replace(/^sha256:/, "").startsWith(v)) || name === v;
  for (const [key, values] of filters) {
    const ok = values.some((v) => {
      switch (key) {
        case "type":
          return e.Type === v;
        case "event":
          return e.Action === v;
        case "container":
          return e.Type === "container" && idMatch(v);
        case "image":
          return e.Type === "image" ? idMatch(v) || e.Actor.ID === v : e.Actor.Attributes.image === v || e.from === v;
        case "volume":
          return e.Type === "volume" && idMatch(v);
        case "network":
          return e.Type === "network" && idMatch(v);
        case "label": // container events carry the container's labels among their attributes
          return labelMatches(e.Actor.Attributes, v);
      }
      return false;
    });
    if (!ok) return false;
  }
  return true;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** docker's default line (RFC3339NanoFixed): `2006-01-02T15:04:05.000000000Z07:00 container start ID (image=…, name=…)`. */
export function eventText(e: EventMessage): string {
  const ms = Math.floor(e.timeNano / 1e6);
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? "Z" : `${off < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  const nanos = String(e.timeNano).slice(-9).padStart(9, "0");
  const when = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${nanos}${zone}`;
  const attrs = Object.keys(e.Actor.Attributes).sort().map((k) => `${k}=${e.Actor.Attributes[k]}`).join(", ");
  return `${when} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ""}`;
}

/** Reads whole lines of a file from `offset`; returns the events and the offset after the last full line. */
function readLines(path: string, offset: number): { events: EventMessage[]; offset: number; ino?: number } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return { events: [], offset: 0 };
  }
  try {
    const st = fstatSync(fd);
    if (st.size < offset) offset = 0; // replaced by a rotation
    const buf = Buffer.allocUnsafe(st.size - offset);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, offset + got);
      if (n <= 0) break;
      got += n;
    }
    const text = buf.subarray(0, got).toString("utf8");
    const end = text.lastIndexOf("\n") + 1;
    const events: EventMessage[] = [];
    for (const line of text.slice(0, end).split("\n")) {
      if (!line) continue;
      try {
        events.push(JSON.parse(line));
      } catch {} // a torn line (a disk that filled mid-write): skipped
    }
    return { events, offset: offset + Buffer.byteLength(text.slice(0, end)), ino: st.ino };
  } finally {
    closeSync(fd);
  }
}

export default defineCommand({
  meta: { name: "events", description: "Get real time events from the server" },
  args: eventsArgs,
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("events", rawArgs, eventsArgs, 0, "");
    if (positionals.length) throw new UsageError(`"events" accepts no arguments`);
    const now = Date.now();
    const since = options.since === undefined ? undefined : parseEventTime(options.since as string, now);
    const until = options.until === undefined ? undefined : parseEventTime(options.until as string, now);
    const filters = parseFilters((options.filter as string[] | undefined) ?? []);
    const format = options.format as string | undefined;
    if (format && format !== "json") compileTemplate(format); // a template that does not parse fails now, not at the first event
    const print = (e: EventMessage) => {
      const ms = e.timeNano / 1e6;
      // without --since, only what happens from now on (docker's rule), unless --until asks for the past
      if (since !== undefined ? ms < since : until === undefined && ms < now) return;
      if (until !== undefined && ms > until) return;
      if (!matches(e, filters)) return;
      // attributes are a Go map to templates: a missing one prints "<no value>"
      const view = { ...e, Actor: { ...e.Actor, Attributes: goMap({ ...e.Actor.Attributes }) } };
      process.stdout.write(`${format ? formatOne(format, view) : eventText(e)}\n`);
    };
    const path = eventsPath();
    // the rotated file first, then the current one; timeNano parsed as a double is fine for ordering by ms
    for (const e of readLines(rotatedEventsPath(), 0).events) print(e);
    let { events, offset, ino } = readLines(path, 0);
    for (const e of events) print(e);
    if (until !== undefined && until <= Date.now()) return;
    for (;;) {
      await Bun.sleep(100);
      if (until !== undefined && Date.now() > until) return;
      let curIno: number | undefined;
      try {
        curIno = statSync(path).ino;
      } catch {}
      if (curIno !== undefined && ino !== undefined && curIno !== ino) {
        // rotated: the rest of the old file (now events.log.1), then the new one from its start
        for (const e of readLines(rotatedEventsPath(), offset).events) print(e);
        offset = 0;
      }
      const r = readLines(path, offset);
      for (const e of r.events) print(e);
      offset = r.offset;
      ino = r.ino ?? ino;
    }
  },
});
