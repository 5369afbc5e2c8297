// Output helpers shared by the listing commands: docker's human sizes and durations (go-units
// HumanSize / HumanDuration), aligned tables, and --format (see format/template.ts).
import { compileTemplate } from "./format/template";

/** `bytes` in the largest of `units` (each `base` times the one before) that keeps it >= 1. */
function scaled(bytes: number, base: number, units: string[], digits: number): string {
  let v = bytes;
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return `${Number(v.toPrecision(digits))}${units[i]}`;
}

/** go-units HumanSize: decimal units, 3 significant digits ("4.26MB", "512B", "1.2kB"). */
export const humanSize = (bytes: number) => scaled(bytes, 1000, ["B", "kB", "MB", "GB", "TB", "PB"], 3);

/** go-units BytesSize: binary units, 4 significant digits ("1.5MiB", "7.63GiB"). */
export const bytesSize = (bytes: number) => scaled(bytes, 1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], 4);

/** docker's units.HumanDuration: "Less than a second", "5 seconds", "About a minute", "3 hours" ... */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return "About a minute";
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return "About an hour";
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

export const ago = (iso: string | undefined, now = Date.now()) => (iso ? `${humanDuration(now - Date.parse(iso))} ago` : "");

/**
 * Columns as Go's tabwriter lays them out for docker (minwidth 10, padding 3): each cell but a
 * line's last is padded to its column's widest cell plus three spaces, and to at least `minWidth`.
 */
export function table(header: string[], rows: string[][], minWidth = 10): string {
  return tabulate([header, ...rows], minWidth).join("\n");
}

/** Lines of tab-separated cells (a rendered `table` template), aligned as table() does. */
export function tabulate(lines: string[][], minWidth = 10): string[] {
  const widths: number[] = [];
  for (const cells of lines) cells.forEach((c, i) => i < cells.length - 1 && (widths[i] = Math.max(widths[i] ?? 0, minWidth - 3, c.length)));
  return lines.map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("").trimEnd());
}

export interface Listing<Row> {
  /** docker's default, e.g. "table {{.ID}}\t{{.Names}}" */
  defaultFormat: string;
  /** header of each field, e.g. ID: "CONTAINER ID"; others print their name upper-cased */
  headers: Record<string, string>;
  /** what a row looks like to a template (fields, and methods such as .Label "k") */
  view(row: Row): object;
  /** what `--format json` prints; defaults to view() */
  json?(row: Row): unknown;
}

/**
 * The lines a listing prints for `--format` as docker's CLI reads it: "table" (or nothing) for the
 * default table, "json" for one JSON object per line, "table TEMPLATE" for aligned columns under
 * a header line made of the fields' headers, and any other TEMPLATE once per row. The two-character
 * escapes \t and \n work as in docker. A template that does not parse or names a missing field
 * throws a TemplateError (exit 125), before anything is printed.
 */
export function formatRows<Row>(format: string | undefined, rows: Row[], listing: Listing<Row>): string[] {
  let f = format === undefined || format === "" || format === "table" ? listing.defaultFormat : format;
  if (f === "json") {
    const tpl = compileTemplate("{{json .}}");
    return rows.map((r) => tpl.render(listing.json ? listing.json(r) : listing.view(r)));
  }
  const tableMode = f.startsWith("table ");
  if (tableMode) f = f.slice("table ".length).trim();
  f = f.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  const tpl = compileTemplate(f);
  const body = rows.map((r) => tpl.render(listing.view(r)));
  if (!tableMode) return body.flatMap((text) => text.split("\n"));
  const header = tpl.renderHeader((field) => listing.headers[field] ?? upperSnake(field));
  return tabulate([header, ...body].flatMap((text) => text.split("\n")).map((line) => line.split("\t")));
}

/** A field's header when the listing names none: CreatedAt -> CREATED AT. */
const upperSnake = (field: string) => field.replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();

/** Formats one value (inspect, version, info): json, or a template rendered once. */
export function formatOne(format: string, value: unknown): string {
  const f = format === "json" ? "{{json .}}" : format.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  return compileTemplate(f).render(value);
}

/** Go's time.Time String() for a UTC time, as docker prints CreatedAt: "2024-01-02 03:04:05 +0000 UTC". */
export function goTime(iso: string | number | Date): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " +0000 UTC");
}

/** docker's zero time in JSON (a container never started or never finished). */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** A command line as docker's ps shows it: quoted, cut at 20 characters. */
export function shortCommand(args: string[]): string {
  const text = args.map((a) => (/\s/.test(a) || a === "" ? `'${a}'` : a)).join(" ");
  return `"${text.length > 20 ? text.slice(0, 19) + "…" : text}"`;
}
