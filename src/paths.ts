// Where mydocker keeps things. Each can be moved (tests give every run its own).
import { realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/**
 * The real path (mountinfo shows real paths; a root reached through a symlink must match them).
 * Found once per path and process: the roots are asked for dozens of times in a start, and each
 * realpath costs an open, a readlink of /proc/self/fd and a close. A path that does not exist yet
 * is asked again next time.
 */
const realPaths = new Map<string, string>();
function real(path: string): string {
  const known = realPaths.get(path);
  if (known !== undefined) return known;
  try {
    const found = realpathSync(path);
    realPaths.set(path, found);
    return found;
  } catch {
    return path;
  }
}

const overrides: { root?: string; dataRoot?: string } = {};

/** Global `--root` / `--data-root` flags win over the environment. */
export function setRoots(o: { root?: string; dataRoot?: string }): void {
  if (o.root !== undefined) overrides.root = real(resolve(o.root));
  if (o.dataRoot !== undefined) overrides.dataRoot = real(resolve(o.dataRoot));
}

/** Per-container state (config.json, state.json, logs): `--root`, $MYDOCKER_ROOT, /run/mydocker. */
export function runtimeRoot(): string {
  return overrides.root ?? real(resolve(process.env.MYDOCKER_ROOT || "/run/mydocker"));
}

/** Images, layers, volumes: `--data-root`, $MYDOCKER_DATA_ROOT, /var/lib/mydocker. */
export function dataRoot(): string {
  return overrides.dataRoot ?? real(resolve(process.env.MYDOCKER_DATA_ROOT || "/var/lib/mydocker"));
}

/**
 * The rootfs used when `--rootfs` is not given: $MYDOCKER_ROOTFS, else `rootfs/` of the project
 * (beside the compiled binary, or above src/ under `bun run`).
 */
export function defaultRootfs(): string {
  if (process.env.MYDOCKER_ROOTFS) return resolve(process.env.MYDOCKER_ROOTFS);
  const compiled = Bun.main.startsWith("/$bunfs/");
  const projectDir = compiled ? dirname(process.execPath) : resolve(import.meta.dir, "..");
  return resolve(projectDir, "rootfs");
}

/**
 * A container's writable layer and overlay mount point (`upper/`, `work/`, `merged/`) under the
 * data root. Here, not in src/image, so that a start does not load the image store to name it.
 */
export const containerLayerDir = (containerId: string) => join(dataRoot(), "containers", containerId);
