// Images and their names. An image is its OCI config JSON kept byte for byte under
// images/<hex>.json, where hex = sha256 of those bytes = the image id (as docker's); the config
// lists the layers (rootfs.diff_ids, bottom first). repositories.json maps "name:tag" to ids.
// Every change happens under the store lock and by atomic renames.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../errors";
import { hasLayer, layerDiffDir, layerInfo, removeLayer } from "./layers";
import { discardTree, hexOf, store, sweepTemps, withGcLock, withLock, writeFileAtomic } from "./layout";
import { normalizeReference } from "./reference";

export interface ImageConfig {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  /** in the raw config only (parseImageConfig's `config` leaves them out) */
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** "80/tcp": {} — what `run -P` publishes */
  ExposedPorts?: Record<string, object>;
}

export interface ImageRecord {
  /** "sha256:<hex>" */
  id: string;
  repoTags: string[];
  /** diff ids "sha256:..", bottom first */
  layers: string[];
  config: ImageConfig;
  created: string;
  /** bytes of file content in all layers */
  size: number;
}

/** The parts of an OCI image config we read. */
export interface OciImageConfig {
  created?: string;
  author?: string;
  architecture?: string;
  variant?: string;
  os?: string;
  config?: ImageConfig;
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Validates an image config and picks out what we use. Throws a one-line error. */
export function parseImageConfig(bytes: Uint8Array | string): { oci: OciImageConfig; layers: string[]; config: ImageConfig } {
  let oci: OciImageConfig;
  try {
    oci = JSON.parse(typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new Error("image config is not valid JSON");
  }
  if (!oci || typeof oci !== "object") throw new Error("image config is not a JSON object");
  const layers = oci.rootfs?.diff_ids;
  if (!Array.isArray(layers) || !layers.every((d) => typeof d === "string" && DIGEST.test(d))) {
    throw new Error("image config has no valid rootfs.diff_ids");
  }
  const c = oci.config ?? {};
  const strings = (v: unknown) => (Array.isArray(v) && v.every((s) => typeof s === "string") ? (v as string[]) : undefined);
  const config: ImageConfig = {};
  if (strings(c.Cmd)) config.Cmd = c.Cmd;
  if (strings(c.Entrypoint)) config.Entrypoint = c.Entrypoint;
  if (strings(c.Env)) config.Env = c.Env;
  if (typeof c.WorkingDir === "string" && c.WorkingDir) config.WorkingDir = c.WorkingDir;
  if (typeof c.User === "string" && c.User) config.User = c.User;
  const exposed = (c as { ExposedPorts?: unknown }).ExposedPorts;
  if (exposed && typeof exposed === "object") config.ExposedPorts = Object.fromEntries(Object.keys(exposed).filter((k) => /^\d+(\/(tcp|udp))?$/.test(k)).map((k) => [k, {}]));
  return { oci, layers, config };
}

// ---------------------------------------------------------------- names

export function readRepositories(): Record<string, string> {
  try {
    return JSON.parse(readFileSync(store.repositories(), "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new Error(`${store.repositories()}: ${(e as Error).message}`);
  }
}

function writeRepositories(repos: Record<string, string>): void {
  const sorted = Object.fromEntries(Object.entries(repos).sort(([a], [b]) => (a < b ? -1 : 1)));
  mkdirSync(store.root(), { recursive: true, mode: 0o711 });
  writeFileAtomic(store.repositories(), JSON.stringify(sorted, null, 2) + "\n");
}

const tagsOf = (id: string, repos: Record<string, string>) =>
  Object.entries(repos)
    .filter(([, v]) => v === id)
    .map(([k]) => k)
    .sort();

// ---------------------------------------------------------------- reading

/** Ids ("sha256:<hex>") of every image. */
export function imageIds(): string[] {
  try {
    return readdirSync(store.images())
      .filter((n) => /^[0-9a-f]{64}\.json$/.test(n))
      .map((n) => `sha256:${n.slice(0, 64)}`);
  } catch {
    return [];
  }
}

export function imageConfigBytes(id: string): Buffer {
  return readFileSync(store.image(id));
}

function loadImage(id: string, repos = readRepositories()): ImageRecord | undefined {
  let bytes: Buffer;
  try {
    bytes = imageConfigBytes(id);
  } catch {
    return undefined;
  }
  const { oci, layers, config } = parseImageConfig(bytes);
  let size = 0;
  for (const l of layers) if (hasLayer(l)) size += layerInfo(l).size;
  return { id: `sha256:${hexOf(id)}`, repoTags: tagsOf(`sha256:${hexOf(id)}`, repos), layers, config, created: oci.created ?? "", size };
}

export function listImages(): ImageRecord[] {
  const repos = readRepositories();
  return imageIds()
    .map((id) => loadImage(id, repos))
    .filter((r): r is ImageRecord => r !== undefined)
    .sort((a, b) => (a.created === b.created ? (a.id < b.id ? -1 : 1) : a.created < b.created ? 1 : -1));
}

/** Finds an image by name[:tag] (default tag latest), full id, or unique id prefix (with or without "sha256:"). */
export function resolveImage(ref: string): ImageRecord | undefined {
  const r = lookup(ref);
  return "image" in r ? r.image : undefined;
}

/** Like resolveImage, but throws `No such image: REF` (or says the prefix is ambiguous). */
export function requireImage(ref: string): ImageRecord {
  const r = lookup(ref);
  if ("image" in r) return r.image;
  throw new UsageError(r.ambiguous ? `image id prefix "${ref}" is ambiguous (${r.ambiguous} images)` : `No such image: ${ref}`);
}

function lookup(ref: string): { image: ImageRecord } | { ambiguous?: number } {
  const repos = readRepositories();
  let tag: string | undefined;
  try {
    tag = normalizeReference(ref);
  } catch {}
  if (tag && repos[tag]) {
    const image = loadImage(repos[tag]!, repos);
    if (image) return { image };
  }
  const m = /^(?:sha256:)?([0-9a-f]{1,64})$/.exec(ref);
  if (!m) return {};
  const hits = imageIds().filter((id) => hexOf(id).startsWith(m[1]!));
  if (hits.length > 1) return { ambiguous: hits.length };
  const image = hits.length === 1 ? loadImage(hits[0]!, repos) : undefined;
  return image ? { image } : {};
}

/** Absolute diff directories of the image's layers, bottom first. */
export function layerDirs(image: ImageRecord): string[] {
  return image.layers.map(layerDiffDir);
}

// ---------------------------------------------------------------- writing

export interface Committed {
  id: string;
  /** tags that pointed at another image before */
  moved: { tag: string; from: string }[];
}

/** Records an image (its config bytes) and points `tags` at it. Every layer must be in the store. */
export function commitImage(configBytes: Uint8Array, tags: string[]): Committed {
  const { layers } = parseImageConfig(configBytes);
  const id = `sha256:${new Bun.CryptoHasher("sha256").update(configBytes).digest("hex")}`;
  return withLock(() => {
    sweepStaleFiles();
    for (const l of layers) if (!hasLayer(l)) throw new Error(`layer ${l} is missing from the store (removed meanwhile?); try again`);
    if (!existsSync(store.image(id))) {
      mkdirSync(store.images(), { recursive: true, mode: 0o700 });
      writeFileAtomic(store.image(id), configBytes, 0o600);
    }
    const repos = readRepositories();
    const moved: Committed["moved"] = [];
    for (const t of tags) {
      if (repos[t] && repos[t] !== id) moved.push({ tag: t, from: repos[t]! });
      repos[t] = id;
    }
    if (tags.length) writeRepositories(repos);
    return { id, moved };
  });
}

/** Points `tag` ("name:tag", normalised) at an existing image. */
export function setTag(tag: string, id: string): void {
  withLock(() => {
    if (!existsSync(store.image(id))) throw new UsageError(`No such image: ${id}`);
    const repos = readRepositories();
    repos[tag] = `sha256:${hexOf(id)}`;
    writeRepositories(repos);
  });
}

/** Removes a tag; returns the id it pointed at. */
export function removeTag(tag: string): string | undefined {
  return withLock(() => {
    const repos = readRepositories();
    const id = repos[tag];
    if (id === undefined) return undefined;
    delete repos[tag];
    writeRepositories(repos);
    return id;
  });
}

/**
 * Deletes an image: its tags, its record, and those of its layers no other image uses. Returns the
 * diff ids of the deleted layers. The caller checks containers first. Waits for imports in
 * progress (they may be about to use one of these layers).
 */
export function deleteImage(id: string, check?: () => void): string[] {
  return withGcLock(() =>
    withLock(() => {
      check?.(); // e.g. rmi's "no container uses it", under the lock a starting `run` also takes
      const full = `sha256:${hexOf(id)}`;
      const bytes = existsSync(store.image(full)) ? imageConfigBytes(full) : undefined;
      const layers = bytes ? parseImageConfig(bytes).layers : [];
      const repos = readRepositories();
      const tags = tagsOf(full, repos);
      for (const t of tags) delete repos[t];
      if (tags.length) writeRepositories(repos);
      discardTree(store.image(full));
      return removeUnusedLayers(layers);
    }),
  );
}

/** Deletes those of `candidates` that no image lists (the caller holds the lock). */
export function removeUnusedLayers(candidates: string[]): string[] {
  return withLock(() => {
    const used = new Set<string>();
    for (const id of imageIds()) {
      try {
        for (const l of parseImageConfig(imageConfigBytes(id)).layers) used.add(l);
      } catch {}
    }
    const gone: string[] = [];
    for (const l of new Set(candidates)) {
      if (used.has(l) || !hasLayer(l)) continue;
      removeLayer(l);
      gone.push(l);
    }
    return gone;
  });
}

// ---------------------------------------------------------------- leftovers

/** `<file>.tmp-<pid>`, as writeFileAtomic names its temp files. */
const TEMP_FILE = /\.tmp-(\d+)$/;

/**
 * Removes what writers that died left behind: temp files of atomic writes (`images/<id>.json.tmp-<pid>`,
 * `repositories.json.tmp-<pid>`, left by ENOSPC or a kill between write and rename) and temp dirs
 * (layout.ts). Only those whose process is gone, and under the store lock, which every writer of
 * these files holds while its temp file exists.
 */
export function sweepStaleFiles(): void {
  withLock(() => {
    sweepTemps();
    for (const dir of [store.root(), store.images()]) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names) {
        const pid = Number(TEMP_FILE.exec(n)?.[1]);
        if (!pid || pid === process.pid || processExists(pid)) continue;
        rmSync(join(dir, n), { force: true });
      }
    }
  });
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0); // kill(2) with signal 0: only the existence and permission checks
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
