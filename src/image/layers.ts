// Content-addressed layers: a layer is unpacked once, under the sha256 of its uncompressed tar
// (the diff id), and shared by every image that lists it. An import unpacks into a temp dir while
// hashing, and renames it into place only when the whole tar was read and verified; a layer that
// is already there is kept (the new copy is dropped).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Extractor } from "./extract";
import { TarParser } from "./tar";
import { TarSplitWriter } from "./tar-split";
import { discardTree, dropTemp, hexOf, keepTemp, newTemp, store } from "./layout";
import type { Chunks } from "./source";

export interface LayerInfo {
  diffId: string;
  /** bytes of file content */
  size: number;
  /** length of the layer tar */
  tarSize: number;
  entries: number;
  created: string;
}

export const hasLayer = (diffId: string) => existsSync(join(store.layer(diffId), "layer.json"));

export function layerInfo(diffId: string): LayerInfo {
  return JSON.parse(readFileSync(join(store.layer(diffId), "layer.json"), "utf8"));
}

export const layerDiffDir = (diffId: string) => join(store.layer(diffId), "diff");

/** Diff ids of every layer in the store. */
export function allLayers(): string[] {
  try {
    return readdirSync(store.layers())
      .filter((h) => /^[0-9a-f]{64}$/.test(h))
      .map((h) => `sha256:${h}`);
  } catch {
    return [];
  }
}

export interface ImportedLayer {
  info: LayerInfo;
  /** false when the layer was already in the store */
  created: boolean;
}

/** Thrown when the content's digest is not the one the image config promised. */
export class DigestMismatch extends Error {}

/**
 * Unpacks a tar stream as a layer. With `expect`, the digest must match it. Nothing is left behind
 * on failure.
 */
export async function importLayer(chunks: Chunks, opts: { expect?: string } = {}): Promise<ImportedLayer> {
  const tmp = newTemp();
  const diff = join(tmp, "diff");
  mkdirSync(diff, { mode: 0o755 });
  const split = new TarSplitWriter(join(tmp, "tar-split"));
  const ex = new Extractor(diff, { whiteouts: true, split, shadowDir: join(tmp, "shadow") });
  const parser = new TarParser(ex);
  const hasher = new Bun.CryptoHasher("sha256");
  try {
    for await (const c of chunks) {
      hasher.update(c);
      parser.write(c);
    }
    parser.end();
    ex.finish();
    split.close();
    const diffId = `sha256:${hasher.digest("hex")}`;
    if (opts.expect && hexOf(opts.expect) !== hexOf(diffId)) {
      throw new DigestMismatch(`layer content has digest ${diffId}, but the image says ${opts.expect}`);
    }
    if (split.tarSize !== parser.offset) throw new Error(`internal error: tar-split covers ${split.tarSize} of ${parser.offset} bytes`);
    const info: LayerInfo = { diffId, size: ex.contentBytes, tarSize: parser.offset, entries: ex.entries, created: new Date().toISOString() };
    writeFileSync(join(tmp, "layer.json"), JSON.stringify(info) + "\n");
    mkdirSync(store.layers(), { recursive: true, mode: 0o700 });
    try {
      renameSync(tmp, store.layer(diffId));
      keepTemp(tmp);
      return { info, created: true };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
      dropTemp(tmp); // another import got there first
      return { info: layerInfo(diffId), created: false };
    }
  } catch (e) {
    ex.abort();
    split.close();
    dropTemp(tmp);
    throw e;
  }
}

/** Deletes a layer (the caller makes sure nothing uses it). */
export function removeLayer(diffId: string): void {
  rmSync(store.shortLink(diffId), { force: true });
  discardTree(store.layer(diffId));
}
