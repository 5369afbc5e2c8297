// What a container on an image changed, read from its writable (upper) layer: `diff` lists it,
// `commit` makes it a new layer on top of the image, `export` tars the merged filesystem.
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { importLayer } from "./layers";
import { containerLayerDir } from "./overlay";
import { normalizeReference } from "./reference";
import { commitImage, imageConfigBytes, layerDirs, type ImageRecord } from "./store";
import { tarDirectory } from "./tar-write";

export const upperDir = (containerId: string) => join(containerLayerDir(containerId), "upper");

export interface Change {
  kind: "A" | "C" | "D";
  path: string;
}

/** docker diff: A added, C changed, D deleted, sorted by path. */
export function containerChanges(containerId: string, image: ImageRecord): Change[] {
  const lowers = layerDirs(image).reverse(); // top first
  const inLower = (rel: string) => lowers.some((l) => existsSync(join(l, rel)));
  const changes: Change[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const path = `${rel}/${name}`;
      const st = lstatSync(abs);
      if (st.isCharacterDevice() && st.rdev === 0) {
        changes.push({ kind: "D", path }); // an overlayfs whiteout
        continue;
      }
      changes.push({ kind: inLower(path) ? "C" : "A", path });
      // an opaque directory replaced the lower one: what was below it is gone, what is in it is new
      if (st.isDirectory()) walk(abs, path);
    }
  };
  const upper = upperDir(containerId);
  if (existsSync(upper)) walk(upper, "");
  return changes;
}

/**
 * A new image: the image's layers plus the container's upper layer (deletions as whiteouts),
 * with the image's config. Returns the new image id.
 */
export async function commitContainer(containerId: string, image: ImageRecord, tag: string | undefined, comment: string): Promise<string> {
  const tarStream = tarDirectory(upperDir(containerId), { whiteouts: true });
  const { info } = await importLayer((async function* () {
    yield* tarStream;
  })());
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
