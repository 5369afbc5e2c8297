// `import`: one root filesystem (a tarball, plain or compressed, a directory, or stdin) becomes a
// one-layer image with a config we write. Importing the same content under the same name with the
// same settings again keeps the existing image (make rootfs runs it every time).
import { statSync } from "node:fs";
import { UsageError } from "../errors";
import { signalName } from "../cli/container-flags";
import { hasLayer, importLayer, DigestMismatch } from "./layers";
import { withGcLock } from "./layout";
import { Progress } from "./progress";
import { formatReference, parseReference } from "./reference";
import { asChunks, decompress, detectCompression, openRaw, tap } from "./source";
import { commitImage, removeUnusedLayers, resolveImage, sweepStaleFiles, type ImageConfig, type OciImageConfig } from "./store";
import { tarDirectory } from "./tar-write";

export interface ImportRequest {
  /** a file, a directory, or "-" for stdin */
  source: string;
  /** NAME[:TAG]; untagged when absent */
  reference?: string;
  config?: ImageConfig;
  message?: string;
}

export interface ImportResult {
  id: string;
  tag?: string;
  /** an identical image already had this name */
  unchanged: boolean;
}

export const ociArch = () => ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" })[process.arch as string] ?? process.arch;

export async function importImage(req: ImportRequest): Promise<ImportResult> {
  const tag = req.reference !== undefined ? formatReference(parseReference(req.reference)) : undefined;
  const label = req.source === "-" ? "stdin" : req.source;
  let isDir = false;
  if (req.source !== "-") {
    let st;
    try {
      st = statSync(req.source);
    } catch (e) {
      throw new UsageError(`${req.source}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`);
    }
    isDir = st.isDirectory();
  }
  return withGcLock(async () => {
    sweepStaleFiles();
    let diffId: string;
    try {
      diffId = isDir ? await importDirectory(req.source) : await importTarball(req.source);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new Error(`${label}: ${(e as Error).message}`);
    }
    const config = req.config ?? {};
    if (tag) {
      const current = resolveImage(tag);
      if (current && sameImage(current.id, [diffId], config)) return { id: current.id, tag, unchanged: true };
    }
    const now = new Date().toISOString();
    const oci: OciImageConfig = {
      architecture: ociArch(),
      config,
      created: now,
      history: [{ created: now, created_by: `mydocker import ${req.source === "-" ? "-" : req.source.split("/").pop()}`, comment: req.message ?? (isDir ? "Imported from directory" : "Imported from tarball") }],
      os: "linux",
      rootfs: { type: "layers", diff_ids: [diffId] },
    };
    const { id } = commitImage(Buffer.from(JSON.stringify(oci)), tag ? [tag] : []);
    return { id, tag, unchanged: false };
  }, "shared");
}

/** Same layers and same run settings (the history comment does not count). */
function sameImage(id: string, layers: string[], config: ImageConfig): boolean {
  const img = resolveImage(id);
  if (!img || JSON.stringify(img.layers) !== JSON.stringify(layers)) return false;
  return JSON.stringify(canonical(img.config)) === JSON.stringify(canonical(config));
}

const canonical = (c: ImageConfig) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)));

async function importTarball(source: string): Promise<string> {
  const raw = await openRaw(source);
  const progress = new Progress(`Importing ${source === "-" ? "stdin" : source.split("/").pop()}`, raw.size);
  try {
    const chunks = decompress(tap(raw.chunks, (c) => progress.add(c.length)), detectCompression(raw.head));
    const { info, created } = await importLayer(chunks);
    if (info.entries === 0) {
      // zeros only (two zero blocks end an archive): nothing to make an image of
      if (created) removeUnusedLayers([info.diffId]);
      throw new Error("empty archive: no entries");
    }
    progress.finish();
    return info.diffId;
  } catch (e) {
    progress.clear();
    throw e;
  } finally {
    raw.close();
  }
}

/** A directory goes through the same tar path; it is hashed first so a known layer is not unpacked again. */
async function importDirectory(dir: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const c of asChunks(tarDirectory(dir))) hasher.update(c);
  const digest = `sha256:${hasher.digest("hex")}`;
  if (hasLayer(digest)) return digest;
  try {
    return (await importLayer(asChunks(tarDirectory(dir)), { expect: digest })).info.diffId;
  } catch (e) {
    if (e instanceof DigestMismatch) throw new Error("the directory changed while it was being imported");
    throw e;
  }
}

/** Docker's `--change` instructions that an image config can hold: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL. */
export function applyChanges(changes: string[], base: ImageConfig = {}): ImageConfig {
  const c: ImageConfig = { ...base };
  for (const line of changes) {
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*?)\s*$/.exec(line);
    if (!m) throw new UsageError(`invalid --change "${line}": expected INSTRUCTION ARGUMENTS`);
    const [, instr, arg] = m as unknown as [string, string, string];
    switch (instr.toUpperCase()) {
      case "CMD":
        c.Cmd = commandForm(arg, line);
        break;
      case "ENTRYPOINT":
        c.Entrypoint = commandForm(arg, line);
        break;
      case "ENV":
        c.Env = mergeEnv(c.Env ?? [], keyValuePairs(arg, line, "ENV").map(([k, v]) => `${k}=${v}`));
        break;
      case "WORKDIR":
        if (!arg.startsWith("/")) throw new UsageError(`invalid --change "${line}": WORKDIR must be absolute`);
        c.WorkingDir = arg;
        break;
      case "USER":
        if (!arg) throw new UsageError(`invalid --change "${line}": USER needs a value`);
        c.User = arg;
        break;
      case "LABEL":
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(keyValuePairs(arg, line, "LABEL")) };
        break;
      case "EXPOSE":
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}), ...Object.fromEntries(exposedPorts(arg, line).map((p) => [p, {}])) };
        break;
      case "STOPSIGNAL":
        try {
          signalName(arg, "STOPSIGNAL");
        } catch (e) {
          throw new UsageError(`invalid --change "${line}": ${(e as Error).message.replace(/^invalid STOPSIGNAL "[^"]*": /, "")}`);
        }
        c.StopSignal = arg;
        break;
      default:
        throw new UsageError(`invalid --change "${line}": ${instr.toUpperCase()} is not supported (use CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE or STOPSIGNAL)`);
    }
  }
  return c;
}

/** JSON (exec) form `["a","b"]`, else shell form -> ["/bin/sh", "-c", "..."]. */
function commandForm(arg: string, line: string): string[] {
  if (arg.startsWith("[")) {
    try {
      const v = JSON.parse(arg);
      if (Array.isArray(v) && v.every((s) => typeof s === "string")) return v;
    } catch {}
    throw new UsageError(`invalid --change "${line}": not a JSON array of strings`);
  }
  if (!arg) throw new UsageError(`invalid --change "${line}": empty command`);
  return ["/bin/sh", "-c", arg];
}

/** EXPOSE's ports: `80`, `80/tcp`, `53/udp`, `8000-8010`, one or more, as "PORT/PROTO" each (docker expands ranges). */
function exposedPorts(arg: string, line: string): string[] {
  const words = arg.split(/\s+/).filter(Boolean);
  if (!words.length) throw new UsageError(`invalid --change "${line}": EXPOSE needs a port`);
  return words.flatMap((w) => {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
    const [lo, hi] = [Number(m?.[1]), Number(m?.[2] ?? m?.[1])];
    if (!m || lo < 1 || hi > 65535 || hi < lo) throw new UsageError(`invalid --change "${line}": "${w}" is no PORT[-PORT][/tcp|udp|sctp]`);
    const proto = (m[3] ?? "tcp").toLowerCase();
    return Array.from({ length: hi - lo + 1 }, (_, i) => `${lo + i}/${proto}`);
  });
}

/**
 * ENV's and LABEL's `KEY=VALUE ...` (each side bare or in double quotes, where a backslash escapes
 * the next character), and ENV's old `KEY VALUE`. Every word must be a pair: nothing is dropped.
 */
function keyValuePairs(arg: string, line: string, instr: "ENV" | "LABEL"): [string, string][] {
  const bad = (why: string) => new UsageError(`invalid --change "${line}": ${why}`);
  if (instr === "ENV" && /^[^\s="]+\s/.test(arg) && !/^[^\s="]+=/.test(arg)) {
    const sp = arg.search(/\s/);
    return [[arg.slice(0, sp), arg.slice(sp).trim()]];
  }
  const token = String.raw`("(?:[^"\\]|\\.)*"|[^\s="]+)`;
  const pair = new RegExp(String.raw`\s*${token}=("(?:[^"\\]|\\.)*"|[^\s"]*)\s*`, "y");
  const unquote = (t: string) => (t.startsWith('"') ? t.slice(1, -1).replace(/\\(.)/g, "$1") : t);
  const out: [string, string][] = [];
  while (pair.lastIndex < arg.length) {
    const at = pair.lastIndex;
    const m = pair.exec(arg);
    if (!m) throw bad(`${instr} takes KEY=VALUE pairs; cannot read "${arg.slice(at).trim()}"`);
    out.push([unquote(m[1]!), unquote(m[2]!)]);
  }
  if (!out.length) throw bad(`${instr} needs KEY=VALUE`);
  return out;
}

function mergeEnv(env: string[], add: string[]): string[] {
  const out = [...env];
  for (const kv of add) {
    const k = kv.slice(0, kv.indexOf("="));
    const i = out.findIndex((e) => e.startsWith(`${k}=`));
    if (i >= 0) out[i] = kv;
    else out.push(kv);
  }
  return out;
}
