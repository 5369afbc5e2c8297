// `save`: images as an OCI image layout in a tar (oci-layout, index.json, blobs/sha256/...), plus
// docker's manifest.json, as `docker save` (25+) writes it, so docker, podman, skopeo and our own
// `load` read it. Layers are the original uncompressed tars, rebuilt byte for byte from the
// tar-split records, so their digests are the diff ids; each is verified while it is written.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { layerInfo } from "./layers";
import { breathe, onInterrupt } from "./interrupt";
import { hexOf, store } from "./layout";
import { Progress } from "./progress";
import { normalizeReference, parseReference } from "./reference";
import { imageConfigBytes, readRepositories, requireImage, type ImageRecord } from "./store";
import { END_OF_ARCHIVE, padding, tarHeader } from "./tar-write";
import { reassembleTar } from "./tar-split";

const MEDIA = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
};

/**
 * Writes the images named by `refs` to `output` (atomically), or to stdout when it is undefined.
 * Interrupted (SIGINT, SIGTERM), it removes its temp file and exits.
 */
export async function saveImages(refs: string[], output?: string): Promise<void> {
  const images = new Map<string, { image: ImageRecord; tags: Set<string> }>();
  const repos = readRepositories();
  for (const ref of refs) {
    const image = requireImage(ref);
    const entry = images.get(image.id) ?? { image, tags: new Set<string>() };
    images.set(image.id, entry);
    let tag: string | undefined;
    try {
      tag = normalizeReference(ref);
    } catch {}
    if (tag && repos[tag] === image.id) entry.tags.add(tag);
  }
  const tmp = output ? `${output}.tmp-${process.pid}` : undefined;
  const fd = tmp ? openSync(tmp, "w", 0o644) : 1;
  const release = tmp ? onInterrupt(() => rmSync(tmp, { force: true })) : () => {};
  try {
    await new LayoutWriter(fd).write([...images.values()]);
    if (tmp) {
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, output!);
    }
  } catch (e) {
    if (tmp) {
      closeSync(fd);
      rmSync(tmp, { force: true });
    }
    throw e;
  } finally {
    release();
  }
}

/** Fully qualified, as containerd and podman expect: busybox:latest -> docker.io/library/busybox:latest. */
function qualified(tag: string): string {
  const { name, tag: t } = parseReference(tag);
  const first = name.split("/")[0]!;
  const hasDomain = name.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  return `${hasDomain ? name : `docker.io/${name.includes("/") ? "" : "library/"}${name}`}:${t}`;
}

class LayoutWriter {
  private written = new Set<string>();
  constructor(private readonly fd: number) {}

  async write(images: { image: ImageRecord; tags: Set<string> }[]): Promise<void> {
    this.dir("blobs/");
    this.dir("blobs/sha256/");
    const total = images.reduce((n, { image }) => n + image.layers.reduce((m, l) => m + layerInfo(l).tarSize, 0), 0);
    const progress = new Progress("Saving layers", total);
    const index: object[] = [];
    const dockerManifest: object[] = [];
    try {
      for (const { image, tags } of images) {
        const layers: { digest: string; size: number }[] = [];
        for (const l of image.layers) layers.push(await this.layer(l, progress));
        const config = imageConfigBytes(image.id);
        this.blob(image.id, config);
        const manifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MEDIA.manifest,
            config: { mediaType: MEDIA.config, digest: image.id, size: config.length },
            layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
          }),
        );
        const manifestDigest = `sha256:${new Bun.CryptoHasher("sha256").update(manifest).digest("hex")}`;
        this.blob(manifestDigest, manifest);
        const desc = { mediaType: MEDIA.manifest, digest: manifestDigest, size: manifest.length };
        if (tags.size === 0) index.push(desc);
        for (const t of tags) {
          index.push({ ...desc, annotations: { "io.containerd.image.name": qualified(t), "org.opencontainers.image.ref.name": qualified(t) } });
        }
        dockerManifest.push({
          Config: `blobs/sha256/${hexOf(image.id)}`,
          RepoTags: tags.size ? [...tags] : null,
          Layers: layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
        });
      }
      progress.finish();
    } catch (e) {
      progress.clear();
      throw e;
    }
    this.file("index.json", Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests: index })));
    this.file("manifest.json", Buffer.from(JSON.stringify(dockerManifest)));
    this.file("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
    this.out(END_OF_ARCHIVE);
  }

  private async layer(diffId: string, progress: Progress): Promise<{ digest: string; size: number }> {
    const size = layerInfo(diffId).tarSize;
    if (this.written.has(diffId)) return { digest: diffId, size };
    this.written.add(diffId);
    this.out(tarHeader({ name: `blobs/sha256/${hexOf(diffId)}`, type: "file", mode: 0o444, size }));
    const hasher = new Bun.CryptoHasher("sha256");
    let n = 0;
    for (const c of reassembleTar(store.layer(diffId))) {
      n += c.length;
      if (n > size) break;
      hasher.update(c);
      this.out(c);
      progress.add(c.length);
      await breathe(); // the chunk is used before the generator is resumed
    }
    if (n !== size || `sha256:${hasher.digest("hex")}` !== diffId) {
      throw new Error(`layer ${diffId} is damaged: its content no longer matches its digest (${join(store.layer(diffId), "diff")})`);
    }
    this.out(padding(size));
    return { digest: diffId, size };
  }

  private blob(digest: string, bytes: Uint8Array): void {
    if (this.written.has(digest)) return;
    this.written.add(digest);
    this.file(`blobs/sha256/${hexOf(digest)}`, bytes);
  }

  private file(name: string, bytes: Uint8Array): void {
    this.out(tarHeader({ name, type: "file", mode: 0o444, size: bytes.length }));
    this.out(bytes);
    this.out(padding(bytes.length));
  }

  private dir(name: string): void {
    this.out(tarHeader({ name, type: "dir", mode: 0o755 }));
  }

  private out(b: Uint8Array): void {
    for (let off = 0; off < b.length; ) {
      try {
        off += writeSync(this.fd, b, off, b.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
        Bun.sleepSync(1);
      }
    }
  }
}
