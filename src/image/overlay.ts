// A container's root filesystem: an overlay of the image's layers (read-only lowerdirs, top
// first) under the container's own upper dir, mounted in the host's mount namespace at
// ${dataRoot}/containers/<id>/merged. The upper dir holds the container's changes (with
// whiteouts in the layers' own format), so it outlives an unmount (restart, commit, diff).
//
// Modes, as docker's overlay2 has them: containers/ and containers/<id> are 0710 root:root, so no
// other host user can reach upper/ or merged/ (a container's setuid file or writable dir must not
// be usable from the host); upper/ is 0755 because it is the container's own `/` (overlayfs takes
// the root's mode from the upper dir); work/ 0700; merged/ 0700 while nothing is mounted on it.
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, rmdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { mount, umount2, MNT_DETACH } from "../../ffi/mount";
import type { SyscallError } from "../../ffi/errno";
import { containerLayerDir, dataRoot } from "../paths";
import { removeTree } from "../fsutil";
import { hexOf, store } from "./layout";
import type { ImageRecord } from "./store";

// The image store is loaded only for containers on images (a start on the default rootfs
// mounts an overlay too, and should not pay for it).
const layerDirs = (image: ImageRecord) => (require("./store") as typeof import("./store")).layerDirs(image);

// Mount data is limited to one page; stay safely below it.
const MAX_DATA = 4000;

export { containerLayerDir };

/**
 * How the overlay is mounted. `discardable`: the writable layer is deleted when the container
 * ends (`run --rm`), so the overlay is mounted `volatile` (overlayfs.rst, "Volatile mount"): its
 * unmount then skips the sync of the whole upper filesystem that every other overlay unmount
 * does (here ~1 ms of a start's teardown). After a crash such a layer may be incomplete; it is
 * never used again.
 */
export interface OverlayOptions {
  discardable?: boolean;
}

/** Mounts the container's overlay (if it is not mounted yet) and returns the merged directory. */
export function mountContainerRootfs(containerId: string, image: ImageRecord, opts: OverlayOptions = {}): string {
  // the same layer twice: its topmost copy already does all the lower one would
  const seen = new Set<string>();
  const layers = [...image.layers].reverse().filter((l) => !seen.has(l) && seen.add(l));
  for (const d of layerDirs({ ...image, layers })) if (!existsSync(d)) throw new Error(`layer ${d} is missing; the image is damaged`);
  return mountOverlay(containerId, opts, layers.length ? layerDirs({ ...image, layers }) : undefined, () => layers.map(shortLink));
}

/**
 * A container on a plain directory (the default rootfs) that must stay as it is: the directory is
 * the overlay's only lower layer, and the container writes into its own upper layer.
 */
export function mountContainerOverLower(containerId: string, lower: string, opts: OverlayOptions = {}): string {
  return mountOverlay(containerId, opts, [lower]);
}

/**
 * The overlay of `lowers` (top first; none: an empty lower dir) under the container's upper dir.
 * `shortLowers` gives shorter names (relative to the data root) for stacks too long for one page.
 */
function mountOverlay(containerId: string, opts: OverlayOptions, lowerDirs: string[] | undefined, shortLowers?: () => string[]): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(containerId)) throw new Error(`invalid container id "${containerId}"`);
  const base = containerLayerDir(containerId);
  const upper = join(base, "upper");
  const work = join(base, "work");
  const merged = join(base, "merged");
  mkdirSync(dataRoot(), { recursive: true, mode: 0o711 });
  dirWithMode(store.containers(), 0o710);
  // A layer made just now has nothing in it yet, and nothing mounted (a container's first start).
  const fresh = newDirWithMode(base, 0o710);
  if (fresh || !existsSync(upper)) dirWithMode(upper, 0o755); // an existing one keeps the mode the container gave its `/`
  if (!fresh && isMountPoint(merged)) return merged;
  mkdirSync(work, { recursive: true, mode: 0o700 }); // (every unmount removes it: see unmountContainerRootfs)
  dirWithMode(merged, 0o700); // never chmod a mounted merged/: that would be the container's `/`
  let lowers = lowerDirs ?? [emptyLower(base)];
  const data = (lower: string[]) => `lowerdir=${lower.map(escape).join(":")},upperdir=${escape(upper)},workdir=${escape(work)}${indexOff()}${opts.discardable ? ",volatile" : ""}`;
  if (data(lowers).length <= MAX_DATA) {
    mount("overlay", merged, "overlay", 0, data(lowers));
    return merged;
  }
  // Long stacks: short names l/<12 hex> relative to the data root, as docker's overlay2 does.
  if (!shortLowers) throw new Error(`overlay: lower directory names too long for one mount`);
  lowers = shortLowers();
  if (data(lowers).length > MAX_DATA) throw new Error(`image has too many layers (${lowers.length}) for one overlay mount`);
  const cwd = process.cwd();
  process.chdir(dataRoot());
  try {
    mount("overlay", merged, "overlay", 0, data(lowers));
  } finally {
    process.chdir(cwd);
  }
  return merged;
}

/**
 * Unmounts the overlay (lazily) and removes merged/ and work/ (a `volatile` mount's work/ would
 * refuse the next mount); the upper dir stays.
 */
export function unmountContainerRootfs(containerId: string): void {
  const base = containerLayerDir(containerId);
  const merged = join(base, "merged");
  unmountIfMounted(merged);
  if (existsSync(merged)) rmdirSync(merged);
  removeTree(join(base, "work"));
}

/** Unmounts if needed and deletes everything of the container's layer, upper dir included. */
export function removeContainerLayer(containerId: string): void {
  const base = containerLayerDir(containerId);
  if (!existsSync(base)) return;
  unmountIfMounted(join(base, "merged"));
  removeTree(base);
}

/**
 * umount2(2) with MNT_DETACH; a directory with nothing mounted on it (EINVAL) or none at all
 * (ENOENT) is fine. Cheaper than finding the mount in /proc/self/mountinfo first.
 */
function unmountIfMounted(dir: string): void {
  try {
    umount2(dir, MNT_DETACH);
  } catch (e) {
    const code = (e as SyscallError).code;
    if (code !== "EINVAL" && code !== "ENOENT") throw e;
  }
}

/** Makes `dir` (parents as needed) with exactly `mode`, whatever the umask, and fixes an older mode. */
function dirWithMode(dir: string, mode: number): void {
  mkdirSync(dir, { recursive: true, mode });
  chmodSync(dir, mode);
}

/** Makes `dir` (its parent exists) with exactly `mode`; false when it existed already (its mode then fixed). */
function newDirWithMode(dir: string, mode: number): boolean {
  let made = true;
  try {
    mkdirSync(dir, { mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    made = false;
  }
  chmodSync(dir, mode);
  return made;
}

function emptyLower(base: string): string {
  const dir = join(base, "empty");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/** l/<first 12 hex of the diff id> -> ../layers/sha256/<hex>/diff, relative to the data root. */
function shortLink(diffId: string): string {
  const link = store.shortLink(diffId);
  const target = `../layers/sha256/${hexOf(diffId)}/diff`;
  mkdirSync(store.shortLinks(), { recursive: true, mode: 0o700 });
  let current: string | undefined;
  try {
    current = readlinkSync(link);
  } catch {}
  if (current !== target) {
    if (current !== undefined) rmSync(link, { force: true });
    symlinkSync(target, link);
  }
  return `l/${link.split("/").pop()}`;
}

/** Overlay option values escape ':' ',' and '\'. */
const escape = (p: string) => p.replace(/[\\:,]/g, (c) => `\\${c}`);

/** With the kernel's overlay index feature on, one layer in several mounts trips EBUSY checks; docker turns it off. */
function indexOff(): string {
  try {
    return readFileSync("/sys/module/overlay/parameters/index", "utf8").trim() === "Y" ? ",index=off" : "";
  } catch {
    return "";
  }
}

/** Whether `dir` is a mount point in our mount namespace. */
export function isMountPoint(dir: string): boolean {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    if (f[4] !== undefined && unescape(f[4]) === dir) return true;
  }
  return false;
}
