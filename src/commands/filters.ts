// docker's `--filter KEY=VALUE` flags, shared by ps, images and volume ls.
import { FlagError } from "../cli/argv";

/** `--filter key=value`, repeatable: values of one key are ORed, different keys ANDed (docker's rule). */
export function parseFilters(given: string[], keys: string[]): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const f of given) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw new FlagError(`bad format of filter (expected name=value): ${f}`);
    const key = f.slice(0, eq).trim().toLowerCase();
    if (!keys.includes(key)) throw new FlagError(`invalid filter '${key}' (use ${keys.join(", ")})`);
    filters.set(key, [...(filters.get(key) ?? []), f.slice(eq + 1)]);
  }
  return filters;
}

/** A `label` filter's value, `key` or `key=value`, against a container's or image's labels. */
export const labelMatches = (labels: Record<string, string>, want: string) => {
  const eq = want.indexOf("=");
  return eq < 0 ? want in labels : labels[want.slice(0, eq)] === want.slice(eq + 1);
};
