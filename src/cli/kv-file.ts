// docker's `--env-file` / `--label-file` format (docker/cli opts/file.go): one KEY=VALUE per line;
// blank lines and lines starting with `#` are skipped; leading whitespace is dropped, the value is
// kept as written (no quotes are interpreted); a bare KEY in an env file copies the caller's
// variable (and is dropped when the caller has none), in a label file it is a label with an empty value.
import { readFileSync } from "node:fs";
import { FlagError } from "../errors";

/** KEY=VALUE entries of `path`, in order. `lookup` answers bare keys (env files); without it they stay bare. */
export function readKeyValueFile(path: string, flag: string, lookup?: (key: string) => string | undefined): string[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FlagError(`invalid ${flag} ${path}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (code ?? (e as Error).message)}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes); // drops a leading BOM, as docker does
  } catch {
    throw new FlagError(`invalid ${flag} ${path}: not valid UTF-8`);
  }
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === "") throw new FlagError(`invalid ${flag} ${path}: line ${i + 1}: no variable name`);
    if (/\s/.test(key)) throw new FlagError(`invalid ${flag} ${path}: line ${i + 1}: variable "${key.trimEnd()}" contains whitespace`);
    if (eq >= 0) return void out.push(line);
    if (!lookup) return void out.push(key);
    const value = lookup(key);
    if (value !== undefined) out.push(`${key}=${value}`);
  });
  return out;
}

/** `--env-file` (each, in order) then `-e`: the later entries win, as in docker. */
export function envFromFlags(files: string[], entries: string[]): string[] {
  const fromFiles = files.flatMap((f) => readKeyValueFile(f, "--env-file", (k) => process.env[k]));
  return [...fromFiles, ...resolveEnv(entries)];
}

/** `-e K=V` sets; `-e K` copies K from the caller's environment when set (docker's rule). */
export function resolveEnv(entries: string[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.startsWith("=") || e === "") throw new FlagError(`invalid --env "${e}": empty variable name`);
    if (e.includes("=")) out.push(e);
    else if (process.env[e] !== undefined) out.push(`${e}=${process.env[e]}`);
  }
  return out;
}

/** `--label-file` (each) then `-l K[=V]`, as a map; a later key wins. */
export function labelsFromFlags(files: string[], entries: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  const all = [...files.flatMap((f) => readKeyValueFile(f, "--label-file")), ...entries];
  for (const kv of all) {
    const eq = kv.indexOf("=");
    const key = eq < 0 ? kv : kv.slice(0, eq);
    if (key.trim() === "") throw new FlagError(`invalid label "${kv}": empty name`);
    labels[key] = eq < 0 ? "" : kv.slice(eq + 1);
  }
  return labels;
}
