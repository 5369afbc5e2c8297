/**
 * The temporary directory, inside the rootfs, where pivot_root(2) parks the old root. The init
 * removes it; if the init is killed in between, the runtime removes it on teardown.
 */
export const putOldName = (containerId: string) => `.pivot_root-${containerId.slice(0, 12)}`;
