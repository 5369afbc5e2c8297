// Output helpers shared by the listing commands: docker's human sizes and durations (go-units
// HumanSize / HumanDuration) and aligned tables.

/** Decimal units with 3 significant digits: "4.26MB", "512B", "1.2kB". */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

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

/** Columns padded to the widest cell, three spaces apart, like docker's tabwriter output. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** A command line as docker's ps shows it: quoted, cut at 20 characters. */
export function shortCommand(args: string[]): string {
  const text = args.map((a) => (/\s/.test(a) || a === "" ? `'${a}'` : a)).join(" ");
  return `"${text.length > 20 ? text.slice(0, 19) + "…" : text}"`;
}
