// `load`: images from a `docker save` archive (manifest.json; layers as <id>/layer.tar or blobs),
// an OCI image layout (index.json + blobs/, a directory or a tar, layers plain or gzip/zstd), or
// the containers/image `dir` layout (`skopeo copy … dir:D`, `podman save --format docker-dir`):
// manifest.json is one image manifest (docker v2 schema 2 or OCI; or an index whose instances sit
// in <hex>.manifest.json), the config and each layer a file named by its digest's hex, and a
// `version` file ("Directory Transport Version: 1.1"). A dir layout holds no name: untagged.
// Every layer is checked against the config's diff ids and every blob against its digest; a
// failed load leaves no layer or record behind.
import { createWriteStream, statSync } from "node:fs";
import { join } from "node:path";
import { TarArchive, DirArchive, type Archive } from "./archive";
import { hasLayer, importLayer } from "./layers";
import { dropTemp, newTemp, withGcLock } from "./layout";
import { Progress } from "./progress";
import { normalizeReference } from "./reference";
import { decompress, detectCompression, openRaw, tap, type Chunks } from "./source";
import { TarParser } from "./tar";
import { commitImage, parseImageConfig, removeUnusedLayers } from "./store";
import { ociArch } from "./import";

export interface LoadedImage {
  id: string;
  tags: string[];
  moved: { tag: string; from: string }[];
}

interface LayerRef {
  member: string;
  /** the blob's own digest (OCI descriptors) */
  digest?: string;
}

interface ImageRef {
  config: string;
  configDigest?: string;
  layers: LayerRef[];
  tags: string[];
}

const MT = {
  index: ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"],
  manifest: ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"],
};

const blobPath = (digest: string) => {
  const m = /^([a-z0-9]+):([a-f0-9]{32,128})$/.exec(digest);
  if (!m) throw new Error(`bad digest "${digest}"`);
  return `blobs/${m[1]}/${m[2]}`;
};

export async function loadImages(input: string): Promise<LoadedImage[]> {
  return withGcLock(async () => {
    const spool: string[] = [];
    let archive: Archive | undefined;
    const created: string[] = [];
    try {
      archive = await openArchive(input, spool);
      const images = describe(archive);
      // layers to unpack, and the bytes that will flow (for the progress bar)
      const todo = new Map<string, { ref: LayerRef; diffId: string }>();
      const configs: { ref: ImageRef; bytes: Buffer; layers: string[] }[] = [];
      for (const ref of images) {
        const bytes = archive.read(ref.config);
        if (!bytes) throw new Error(`the image config ${ref.config} is missing`);
        if (ref.configDigest) verify(bytes, ref.configDigest, ref.config);
        let layers: string[];
        try {
          layers = parseImageConfig(bytes).layers;
        } catch (e) {
          throw new Error(`${ref.config}: ${(e as Error).message}`);
        }
        if (layers.length !== ref.layers.length) throw new Error(`the manifest lists ${ref.layers.length} layers but the config ${layers.length}`);
        layers.forEach((diffId, i) => {
          if (!hasLayer(diffId) && !todo.has(diffId)) todo.set(diffId, { ref: ref.layers[i]!, diffId });
        });
        configs.push({ ref, bytes, layers });
      }
      let total = 0;
      for (const { ref } of todo.values()) {
        const size = archive.size(ref.member);
        if (size === undefined) throw new Error(`layer ${ref.member} is missing from the archive`);
        total += size;
      }
      const progress = new Progress("Loading layers", total);
      try {
        let i = 0;
        for (const { ref, diffId } of todo.values()) {
          i++;
          const blobHash = ref.digest ? new Bun.CryptoHasher(ref.digest.split(":")[0] as "sha256") : undefined;
          const raw = tap(archive.stream(ref.member), (c) => {
            progress.add(c.length);
            blobHash?.update(c);
          });
          try {
            const result = await importLayer(await uncompressed(raw), { expect: diffId });
            if (result.created) created.push(diffId);
          } catch (e) {
            throw new Error(`layer ${i} (${ref.member}): ${(e as Error).message}`);
          }
          if (ref.digest && blobHash && `${ref.digest.split(":")[0]}:${blobHash.digest("hex")}` !== ref.digest) {
            throw new Error(`layer ${i} (${ref.member}): the blob does not match its digest ${ref.digest}`);
          }
        }
        progress.finish();
      } catch (e) {
        progress.clear();
        throw e;
      }
      const loaded: LoadedImage[] = [];
      for (const c of configs) {
        const { id, moved } = commitImage(c.bytes, c.ref.tags);
        loaded.push({ id, tags: c.ref.tags, moved });
      }
      return loaded;
    } catch (e) {
      if (created.length) removeUnusedLayers(created);
      throw new Error(`${input === "-" ? "stdin" : input}: ${(e as Error).message}`);
    } finally {
      archive?.close();
      for (const t of spool) dropTemp(t);
    }
  }, "shared");
}

/** The stream after sniffing its compression. */
async function uncompressed(chunks: Chunks): Promise<Chunks> {
  const it = chunks[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? new Uint8Array(0) : first.value;
  async function* all(): Chunks {
    if (!first.done) yield first.value;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return decompress(all(), detectCompression(head));
}

function verify(bytes: Uint8Array, digest: string, what: string): void {
  const [alg, hex] = digest.split(":");
  if (alg !== "sha256" && alg !== "sha512") throw new Error(`${what}: unsupported digest algorithm ${alg}`);
  if (new Bun.CryptoHasher(alg).update(bytes).digest("hex") !== hex) throw new Error(`${what} does not match its digest ${digest}`);
}

/**
 * A directory is a layout; an uncompressed regular tar file is read in place; anything else (stdin,
 * a FIFO, compressed) is spooled first, checked as it goes: a tar that never ends (/dev/zero) is
 * refused after its end marker plus the padding the parser allows, not written until the disk is full.
 */
async function openArchive(input: string, spool: string[]): Promise<Archive> {
  const st = input === "-" ? undefined : statSync(input);
  if (st?.isDirectory()) return new DirArchive(input);
  const raw = await openRaw(input);
  const compression = detectCompression(raw.head);
  if (st?.isFile() && compression === "none") {
    raw.close();
    return new TarArchive(input);
  }
  const tmp = newTemp();
  spool.push(tmp);
  const file = join(tmp, "archive.tar");
  const progress = new Progress("Reading archive", raw.size);
  try {
    const out = createWriteStream(file);
    const check = new TarParser({ entry() {}, data() {}, entryEnd() {} });
    try {
      for await (const c of decompress(tap(raw.chunks, (c) => progress.add(c.length)), compression)) {
        check.write(c);
        if (!out.write(c)) await new Promise((r) => out.once("drain", r));
      }
      check.end();
    } catch (e) {
      out.destroy();
      throw e;
    }
    await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
    progress.finish();
  } catch (e) {
    progress.clear();
    throw e;
  } finally {
    raw.close();
  }
  return new TarArchive(file);
}

/** The images an archive holds. */
function describe(a: Archive): ImageRef[] {
  const json = (name: string) => {
    const b = a.read(name);
    if (!b) return undefined;
    try {
      return JSON.parse(b.toString("utf8"));
    } catch {
      throw new Error(`${name} is not valid JSON`);
    }
  };
  const manifest = json("manifest.json");
  if (Array.isArray(manifest)) return dockerImages(manifest);
  if (manifest !== undefined && typeof manifest === "object" && manifest !== null && "schemaVersion" in manifest) {
    return dirImages(manifest, (name) => json(name), (d, b) => verify(b, d, dirMember(d)), a);
  }
  if (manifest !== undefined) return dockerImages(manifest);
  const index = json("index.json");
  if (index !== undefined) return ociImages(index, (d) => json(blobPath(d)), (d, b) => verify(b, d, blobPath(d)), a);
  throw new Error(`not an image archive (no manifest.json or index.json; for a root filesystem tarball use "mydocker import")`);
}

function dockerImages(manifest: unknown): ImageRef[] {
  if (!Array.isArray(manifest) || manifest.length === 0) throw new Error("manifest.json lists no images");
  return manifest.map((m, i) => {
    if (typeof m?.Config !== "string" || !Array.isArray(m.Layers) || !m.Layers.every((l: unknown) => typeof l === "string")) {
      throw new Error(`manifest.json entry ${i + 1} is malformed`);
    }
    return {
      config: m.Config,
      configDigest: /^blobs\/sha256\/[0-9a-f]{64}$/.test(m.Config) ? `sha256:${m.Config.slice(-64)}` : undefined,
      layers: (m.Layers as string[]).map((member) => ({ member, digest: /^blobs\/sha256\/[0-9a-f]{64}$/.test(member) ? `sha256:${member.slice(-64)}` : undefined })),
      tags: ((m.RepoTags ?? []) as string[]).map(tagOf).filter((t): t is string => t !== undefined),
    };
  });
}

/** A member of a dir layout: the digest's hex (containers/image's directory transport). */
const dirMember = (digest: string) => blobPath(digest).split("/")[2]!;

/**
 * The `dir` layout: manifest.json is the image's own manifest (or an index, whose instances are
 * <hex>.manifest.json). Docker schema 1 manifests (v1 history, no config) are refused by name.
 */
function dirImages(manifest: any, json: (name: string) => any, check: (d: string, b: Buffer) => void, a: Archive): ImageRef[] {
  if (manifest.schemaVersion === 1) throw new Error("manifest.json is a docker schema 1 manifest (dir layout): not supported; copy it again with `skopeo copy --format v2s2` or `--format oci`");
  if (Array.isArray(manifest.manifests)) {
    const ours = (manifest.manifests as Descriptor[]).filter((d) => typeof d?.digest === "string" && (!d.platform || (d.platform.os === "linux" && d.platform.architecture === ociArch())));
    if (ours.length === 0) throw new Error(`the dir layout's manifest list has no image for linux/${ociArch()}`);
    const chosen = ours[0]!;
    const name = `${dirMember(chosen.digest)}.manifest.json`;
    const raw = a.read(name);
    if (!raw) throw new Error(`${name} is missing (the dir layout's manifest list names it)`);
    check(chosen.digest, raw);
    return dirImages(json(name), json, check, a);
  }
  if (MT.index.includes(manifest.mediaType)) throw new Error("manifest.json is malformed: an index without manifests");
  if (typeof manifest.config?.digest !== "string" || !Array.isArray(manifest.layers) || !manifest.layers.every((l: Descriptor) => typeof l?.digest === "string")) {
    throw new Error("manifest.json is malformed (dir layout: expected config and layers descriptors)");
  }
  return [{
    config: dirMember(manifest.config.digest),
    configDigest: manifest.config.digest,
    layers: (manifest.layers as Descriptor[]).map((l) => ({ member: dirMember(l.digest), digest: l.digest })),
    tags: [],
  }];
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string };
  annotations?: Record<string, string>;
}

function ociImages(index: any, blob: (d: string) => any, check: (d: string, b: Buffer) => void, a: Archive): ImageRef[] {
  const out: ImageRef[] = [];
  const visit = (descs: Descriptor[], names: string[], depth: number) => {
    if (!Array.isArray(descs) || depth > 4) throw new Error("index.json is malformed");
    let candidates = descs.filter((d) => typeof d?.digest === "string");
    if (candidates.some((d) => d.platform)) {
      const ours = candidates.filter((d) => !d.platform || (d.platform.os === "linux" && d.platform.architecture === ociArch()));
      if (ours.length === 0) throw new Error(`the archive has no image for linux/${ociArch()}`);
      candidates = ours;
      if (depth > 0) candidates = candidates.slice(0, 1);
    }
    for (const d of candidates) {
      const raw = a.read(blobPath(d.digest));
      if (!raw) throw new Error(`${blobPath(d.digest)} is missing`);
      check(d.digest, raw);
      const doc = blob(d.digest);
      const tags = [...names, ...ociNames(d.annotations)];
      const mt = d.mediaType ?? doc?.mediaType;
      if (MT.index.includes(mt) || (Array.isArray(doc?.manifests) && !doc?.config)) visit(doc.manifests, tags, depth + 1);
      else if (MT.manifest.includes(mt) || doc?.config) {
        if (typeof doc?.config?.digest !== "string" || !Array.isArray(doc.layers)) throw new Error(`manifest ${d.digest} is malformed`);
        out.push({
          config: blobPath(doc.config.digest),
          configDigest: doc.config.digest,
          layers: (doc.layers as Descriptor[]).map((l) => ({ member: blobPath(l.digest), digest: l.digest })),
          tags: [...new Set(tags)],
        });
      } else throw new Error(`unsupported media type ${mt ?? "(none)"} in index.json`);
    }
  };
  visit(index?.manifests, [], 0);
  if (out.length === 0) throw new Error("index.json lists no images");
  return out;
}

/** Names from OCI annotations: containerd's full name, or a ref.name that is a whole reference (a bare tag names nothing). */
function ociNames(ann: Record<string, string> | undefined): string[] {
  if (!ann) return [];
  const full = ann["io.containerd.image.name"];
  if (full) return [tagOf(full)].filter((t): t is string => t !== undefined);
  const ref = ann["org.opencontainers.image.ref.name"];
  if (ref && (ref.includes(":") || ref.includes("/"))) return [tagOf(ref)].filter((t): t is string => t !== undefined);
  return [];
}

function tagOf(ref: string): string | undefined {
  try {
    return normalizeReference(ref);
  } catch {
    return undefined;
  }
}
