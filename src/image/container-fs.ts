// What a container on an image changed, read from its writable (upper) layer: `diff` lists it,
// `commit` makes it a new layer on top of the image, `export` tars the merged filesystem.
import { closeSync, existsSync } from "node:fs";
import { join } from "node:path";
import { AT_FDCWD, O_DIRECTORY, O_PATH, openat2 } from "../../ffi/openat";
import { existsBeneath, walkTree } from "./fd-walk";
import { importLayer } from "./layers";
import { asChunks } from "./source";
import { containerLayerDir } from "./overlay";
import { normalizeReference } from "./reference";
import { commitImage, imageConfigBytes, layerDirs, type ImageRecord } from "./store";
import { tarDirectory } from "./tar-write";

export const upperDir = (containerId: string) => join(containerLayerDir(containerId), "upper");

export interface Change {
  kind: "A" | "C" | "D";
  path: string;
}

/**
 * docker diff: A added, C changed, D deleted, sorted by path. The upper layer of a running
 * container is walked by fd (fd-walk.ts) and the image's layers are asked beneath their own root
 * fds with no symlink followed, so nothing the container does makes us read outside its layers.
 */
export function containerChanges(containerId: string, image: ImageRecord): Change[] {
  const upper = upperDir(containerId);
  if (!existsSync(upper)) return [];
  const lowers: number[] = [];
  try {
    for (const l of layerDirs(image).reverse()) lowers.push(openat2(AT_FDCWD, l, O_PATH | O_DIRECTORY, 0, l)); // top first
    const inLower = (rel: string) => lowers.some((fd) => existsBeneath(fd, rel));
    const changes: Change[] = [];
    for (const e of walkTree(upper)) {
      const path = `/${e.path}`;
      // an overlayfs whiteout; an opaque directory replaced the lower one: what was below it is
      // gone, what is in it is new (the walk goes into every directory)
      if (e.type === "char" && e.stat.rdev === 0) changes.push({ kind: "D", path });
      else changes.push({ kind: inLower(e.path) ? "C" : "A", path });
    }
    return changes;
  } finally {
    for (const fd of lowers) closeSync(fd);
  }
}

/**
 * A new image: the image's layers plus the container's upper layer (deletions as whiteouts),
 * with the image's config. Returns the new image id.
 */
export async function commitContainer(containerId: string, image: ImageRecord, tag: string | undefined, comment: string): Promise<string> {
  const tarStream = tarDirectory(upperDir(containerId), { whiteouts: true });
  const { info } = await importLayer(asChunks(tarStream)); // asChunks yields to signal handlers
  const parent = JSON.parse(imageConfigBytes(image.id).toString());
  const now = new Date().toISOString();
  const config = {
    ...parent,
    created: now,
    rootfs: { type: "layers", diff_ids: [...(parent.rootfs?.diff_ids ?? []), info.diffId] },
    history: [...(parent.history ?? []), { created: now, created_by: comment }],
  };
  return commitImage(Buffer.from(JSON.stringify(config)), tag ? [normalizeReference(tag)] : []).id;
}
