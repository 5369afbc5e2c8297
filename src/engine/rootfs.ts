// A container's root filesystem on the host: a plain directory (--rootfs, nothing to do), or an
// overlay of its image's layers under its own writable layer, mounted while it runs. The image
// modules load only for image containers (require: synchronous, and skipped on the plain path).
import type { ContainerState } from "../state/store";

const overlay = () => require("../image/overlay") as typeof import("../image/overlay");
const images = () => require("../image/store") as typeof import("../image/store");

/** Mounts the container's overlay (image containers); returns the root path either way. */
export function prepareRootfs(state: ContainerState): string {
  if (!state.imageId) return state.rootfs;
  return overlay().mountContainerRootfs(state.id, images().requireImage(state.imageId));
}

/** Unmounts the overlay once the container has stopped; its writable layer stays (diff, commit, export). */
export function releaseRootfs(state: ContainerState): void {
  if (state.imageId) overlay().unmountContainerRootfs(state.id);
}

/** Deletes the container's writable layer (rm). */
export function deleteRootfs(state: ContainerState): void {
  if (state.imageId) overlay().removeContainerLayer(state.id);
}
