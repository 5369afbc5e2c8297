/**
 * Which devices a container may use: the nodes the init creates in its /dev (linux.devices) and
 * the cgroup allow list (linux.resources.devices) that the cgroup managers enforce — v1 through
 * devices.allow/deny, v2 through a BPF program (src/cgroups/device-filter.ts). Without the list,
 * a container with CAP_MKNOD could make and open any node: `mknod k c 1 11` is the host's kmsg,
 * a block node of the host's disk reads it raw.
 */
import { lstatSync, readdirSync, statSync, type BigIntStats } from "node:fs";
import { isAbsolute, join } from "node:path";
import { splitDev } from "../../ffi/fs";
import { parseAccess } from "../cgroups/device-rules.ts";
import type { DeviceRule, LinuxDevice } from "../spec";

const char = (major: number, minor: number | null): DeviceRule => ({ allow: true, type: "c", major, minor, access: "rwm" });

/**
 * docker's list (runc's specconv.AllowedDevices, which moby appends after its "deny all"): mknod of
 * any node, so images can carry device files, but read/write only of these.
 */
export const DEFAULT_DEVICE_RULES: DeviceRule[] = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c", major: null, minor: null, access: "m" },
  { allow: true, type: "b", major: null, minor: null, access: "m" },
  char(1, 3), // /dev/null
  char(1, 8), // /dev/random
  char(1, 7), // /dev/full
  char(5, 0), // /dev/tty
  char(1, 5), // /dev/zero
  char(1, 9), // /dev/urandom
  char(5, 1), // /dev/console
  char(136, null), // /dev/pts/*
  char(5, 2), // /dev/ptmx
  char(10, 200), // /dev/net/tun
];

/** --privileged: every device. */
export const PRIVILEGED_DEVICE_RULES: DeviceRule[] = [{ allow: true, type: "a", major: null, minor: null, access: "rwm" }];

const node = (name: string, major: number, minor: number): LinuxDevice => ({ path: `/dev/${name}`, type: "c", major, minor, fileMode: 0o666, uid: 0, gid: 0 });

/** The nodes every container's /dev gets (OCI runtime-spec "Default Devices"). */
export const DEFAULT_DEVICES: LinuxDevice[] = [
  node("null", 1, 3),
  node("zero", 1, 5),
  node("full", 1, 7),
  node("random", 1, 8),
  node("urandom", 1, 9),
  node("tty", 5, 0),
];

/** A char or block node described as linux.devices wants it; null for anything else. */
function deviceOf(path: string, st: BigIntStats): LinuxDevice | null {
  const type = st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : null;
  if (!type) return null;
  const { major, minor } = splitDev(st.rdev);
  return { path, type, major, minor, fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
}

/**
 * docker's `--device HOST[:CONTAINER][:PERMISSIONS]`: the host node (a symlink is followed), the
 * path in the container (default: the same) and the cgroup access (default "rwm"). With two
 * fields, the second is the permissions when it reads as such (docker's rule).
 */
export function parseDeviceFlag(text: string): { device: LinuxDevice; rule: DeviceRule } {
  const fail = (why: string): never => {
    throw new Error(`invalid --device "${text}": ${why}`);
  };
  const parts = text.split(":");
  if (parts.length > 3) fail("expected HOST[:CONTAINER][:PERMISSIONS]");
  const [host = "", second, third] = parts;
  let path = host;
  let access = "rwm";
  if (parts.length === 2 && /^[rwm]{1,3}$/.test(second!)) access = second!;
  else if (parts.length >= 2) path = second!;
  if (third !== undefined) access = third;
  if (!isAbsolute(host)) fail("the host path must be absolute");
  if (!isAbsolute(path)) fail("the container path must be absolute");
  try {
    parseAccess(access);
  } catch {
    fail(`permissions "${access}" must be a non-empty subset of "rwm"`);
  }
  let st: BigIntStats;
  try {
    st = statSync(host, { bigint: true });
  } catch (err) {
    return fail(`${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const device = deviceOf(path, st) ?? fail("not a character or block device");
  return { device, rule: { allow: true, type: device.type as "c" | "b", major: device.major, minor: device.minor, access } };
}

/** Left out of `hostDevices` (relative to /dev): the container mounts its own pts, shm and mqueue,
 *  its console is its terminal, and its /dev/ptmx must point into its own devpts (pts/ptmx). */
const SKIPPED = new Set(["pts", "shm", "mqueue", "console", "ptmx"]);

/** Every char and block node under the host's /dev (`root`), recursively, sorted by path, with
 *  its path in the container (/dev/...). Symlinks are neither followed nor listed. What
 *  `--privileged` puts in the container's /dev. */
export function hostDevices(root = "/dev"): LinuxDevice[] {
  const out: LinuxDevice[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(root, rel));
    } catch {
      return; // a directory that vanished or cannot be read (udev at work)
    }
    for (const name of names) {
      const sub = rel ? `${rel}/${name}` : name;
      if (SKIPPED.has(sub)) continue;
      let st: BigIntStats;
      try {
        st = lstatSync(join(root, sub), { bigint: true });
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(sub);
      else {
        const device = deviceOf(`/dev/${sub}`, st);
        if (device) out.push(device);
      }
    }
  };
  walk("");
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
