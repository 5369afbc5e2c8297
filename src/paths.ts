import { dirname, resolve } from "node:path";

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
