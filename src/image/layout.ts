// Where the image store keeps things under the data root, and the primitives every write uses:
// a store-wide lock (flock, released by the kernel if we die), private temp dirs that are renamed
// into place only when complete (and swept when their process is gone), atomic file writes.
//
//   layers/sha256/<hex>/diff/        the unpacked layer, overlayfs format (a lowerdir as is)
//   layers/sha256/<hex>/layer.json   { diffId, size, tarSize, entries, created }
//   layers/sha256/<hex>/tar-split    what rebuilds the original tar (save)
//   images/<hex>.json                the image's OCI config, byte for byte (sha256 = image id)
//   repositories.json                { "name:tag": "sha256:<id>" }
//   l/<short> -> ../layers/sha256/<hex>/diff   short lowerdir names for long layer stacks
//   containers/<id>/{upper,work,merged}        container layers (overlay.ts)
//   tmp/<pid>-<random>/              work in progress
import { existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { dataRoot } from "../paths";
import { removeTree, withFileLock, writeFileAtomic as writeAtomic } from "../fsutil";

export const hexOf = (digest: string) => digest.replace(/^sha256:/, "");

export const store = {
  root: () => dataRoot(),
  layers: () => join(dataRoot(), "layers", "sha256"),
  layer: (diffId: string) => join(dataRoot(), "layers", "sha256", hexOf(diffId)),
  images: () => join(dataRoot(), "images"),
  image: (id: string) => join(dataRoot(), "images", `${hexOf(id)}.json`),
  repositories: () => join(dataRoot(), "repositories.json"),
  shortLinks: () => join(dataRoot(), "l"),
  shortLink: (diffId: string) => join(dataRoot(), "l", hexOf(diffId).slice(0, 12)),
  containers: () => join(dataRoot(), "containers"),
  tmp: () => join(dataRoot(), "tmp"),
};

/** Runs `fn` holding the store's exclusive lock (re-entrant within this process). */
export function withLock<T>(fn: () => T): T {
  mkdirSync(dataRoot(), { recursive: true, mode: 0o711 });
  return withFileLock(join(dataRoot(), ".lock"), fn);
}

/**
 * Imports hold this lock shared for their whole run; deleting layers takes it exclusive, so a
 * layer an import is about to reuse never vanishes under it. Always taken before `withLock`.
 */
export function withGcLock<T>(fn: () => T, mode: "shared" | "exclusive" = "exclusive"): T {
  mkdirSync(dataRoot(), { recursive: true, mode: 0o711 });
  return withFileLock(join(dataRoot(), ".gc-lock"), fn, mode);
}

const liveTemps = new Set<string>();
let handlersInstalled = false;

function removeLiveTemps(): void {
  for (const t of liveTemps) removeTree(t);
  liveTemps.clear();
}

/** A new private directory under tmp/, removed by `dropTemp`, on SIGINT/SIGTERM, or by a later sweep. */
export function newTemp(): string {
  sweepTemps();
  const dir = join(store.tmp(), `${process.pid}-${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  liveTemps.add(dir);
  if (!handlersInstalled) {
    handlersInstalled = true;
    for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
      process.on(sig, () => {
        removeLiveTemps();
        process.exit(code);
      });
    }
    process.on("exit", removeLiveTemps);
  }
  return dir;
}

export function dropTemp(dir: string): void {
  removeTree(dir);
  liveTemps.delete(dir);
}

/** Marks a temp dir as moved into place (nothing left to remove). */
export function keepTemp(dir: string): void {
  liveTemps.delete(dir);
}

/** Removes temp dirs whose process is gone (a killed import). */
export function sweepTemps(): void {
  let names: string[];
  try {
    names = readdirSync(store.tmp());
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.split("-")[0]);
    if (pid === process.pid || (Number.isInteger(pid) && pid > 0 && alive(pid))) continue;
    removeTree(join(store.tmp(), n));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Writes a file by write-to-temp, fsync, rename: readers see the old or the new content, never half. */
/** The store's files are readable (0644) unless said otherwise; see fsutil's writeFileAtomic. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  writeAtomic(path, data, mode);
}

/** Moves a store directory out of the way atomically (no reader sees it half-deleted), then deletes it. */
export function discardTree(dir: string): void {
  if (!existsSync(dir)) return;
  mkdirSync(store.tmp(), { recursive: true, mode: 0o700 });
  const trash = join(store.tmp(), `${process.pid}-rm-${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}`);
  renameSync(dir, trash);
  removeTree(trash);
}
