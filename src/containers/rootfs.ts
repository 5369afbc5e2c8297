// A container's root filesystem on the host: a plain directory used in place (--rootfs, as runc
// uses a bundle's root), or an overlay under the container's own writable layer, mounted while
// it runs: of its image's layers, or of the default rootfs (which containers must not change).
// The image modules load only for those (require: synchronous, and skipped on the plain path).
import type { ContainerState } from "../state/store";

const overlay = () => require("../image/overlay") as typeof import("../image/overlay");
const images = () => require("../image/store") as typeof import("../image/store");

/** Mounts the container's overlay (image containers); returns the root path either way. */
export function prepareRootfs(state: ContainerState): string {
  // (`run --rm`: the layer goes with the container, see OverlayOptions)
  const opts = { discardable: state.autoRemove };
  if (state.imageId) return overlay().mountContainerRootfs(state.id, images().requireImage(state.imageId), opts);
  if (state.lowerDir) return overlay().mountContainerOverLower(state.id, state.lowerDir, opts);
  return state.rootfs;
}

const layered = (state: ContainerState) => state.imageId !== undefined || state.lowerDir !== undefined;

/** Unmounts the overlay once the container has stopped; its writable layer stays (diff, commit, export). */
export function releaseRootfs(state: ContainerState): void {
  if (layered(state)) overlay().unmountContainerRootfs(state.id);
}

/** Deletes the container's writable layer (rm). */
export function deleteRootfs(state: ContainerState): void {
  if (layered(state)) overlay().removeContainerLayer(state.id);
}
