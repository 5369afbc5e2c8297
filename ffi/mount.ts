// mount(2), umount2(2), pivot_root(2).
import { FFIType, check, cstr, libc } from "./libc";

const sym = libc({
  mount: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  umount2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  syscall: { args: [FFIType.i64, FFIType.ptr, FFIType.ptr], returns: FFIType.i64 },
});

// <sys/mount.h>
export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_STRICTATIME = 0x1000000;
export const MNT_DETACH = 0x2;

const opt = (s: string | null | undefined) => (s == null ? null : cstr(s));

/** mount(2). Errors read `mount <target>: EINVAL`. */
export function mount(source: string | null, target: string, fstype: string | null, flags: number, data?: string): void {
  const rc = sym().mount(opt(source), cstr(target), opt(fstype), flags, opt(data || null));
  check(`mount ${target}`, rc);
}

export function umount2(target: string, flags: number): void {
  check(`umount2 ${target}`, sym().umount2(cstr(target), flags));
}

// glibc has no pivot_root wrapper; call it by number (x86_64: 155, arm64 and others on the
// generic table: 41).
const SYS_pivot_root = process.arch === "x64" ? 155 : 41;

/** pivot_root(2): `newRoot` must be a mount point, `putOld` a directory under it. */
export function pivotRoot(newRoot: string, putOld: string): void {
  check("pivot_root", sym().syscall(SYS_pivot_root, cstr(newRoot), cstr(putOld)));
}

// The new mount API (Linux 5.2; open_tree(2), move_mount(2)). Same numbers on every architecture.
const SYS_open_tree = 428;
const SYS_move_mount = 429;
const AT_FDCWD = -100;
export const OPEN_TREE_CLONE = 0x1;
export const OPEN_TREE_CLOEXEC = 0o2000000;
export const AT_RECURSIVE = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH = 0x4;

const newApi = libc({
  syscall: { args: [FFIType.i64, FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
});

/**
 * A detached copy of the mount at `path` (and, with `recursive`, the mounts below it), held by
 * the returned fd. It stays usable after the namespace it came from loses that path: a bind
 * source can be taken before pivot_root and attached after it with moveMount.
 */
export function openTree(path: string, recursive: boolean): number {
  const flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  return check(`open_tree ${path}`, newApi().syscall(SYS_open_tree, AT_FDCWD, cstr(path), flags, null, 0));
}

const SYS_mount_setattr = 442;
const AT_EMPTY_PATH = 0x1000;
const MOUNT_ATTR_RDONLY = 0x1;
const MOUNT_ATTR_SIZE = 32; // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; }
const READ_ONLY = new BigUint64Array([BigInt(MOUNT_ATTR_RDONLY), 0n, 0n, 0n]); // attr_set = RDONLY

const setattr = libc({
  syscall: { args: [FFIType.i64, FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
});

/**
 * Makes the detached tree held by `fd` read-only, every mount in it (mount_setattr(2)), and
 * leaves its other flags (nosuid, nodev, noexec) as they are: a remount would have to repeat them.
 */
export function makeTreeReadOnly(fd: number, what: string): void {
  check(`mount_setattr ${what}`, setattr().syscall(SYS_mount_setattr, fd, cstr(""), AT_EMPTY_PATH | AT_RECURSIVE, READ_ONLY, MOUNT_ATTR_SIZE));
}

/**
 * Makes the mount at `path` read-only (mount_setattr(2) on the path), keeping its nosuid, nodev
 * and noexec as they are — a MS_REMOUNT would have to repeat them or clear them.
 */
export function makeReadOnly(path: string): void {
  check(`mount_setattr ${path}`, setattr().syscall(SYS_mount_setattr, AT_FDCWD, cstr(path), AT_RECURSIVE, READ_ONLY, MOUNT_ATTR_SIZE));
}

/** Attaches the detached mount held by `fd` at `target`. */
export function moveMount(fd: number, target: string): void {
  check(`move_mount ${target}`, newApi().syscall(SYS_move_mount, fd, cstr(""), AT_FDCWD, cstr(target), MOVE_MOUNT_F_EMPTY_PATH));
}
