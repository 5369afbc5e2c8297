// Turns an OCI mount's option list into mount(2) flags and the filesystem's data string, the way
// mount(8) reads them.
import * as M from "../../ffi/mount";

const FLAGS: Record<string, [set: number, clear: number]> = {
  ro: [M.MS_RDONLY, 0],
  rw: [0, M.MS_RDONLY],
  nosuid: [M.MS_NOSUID, 0],
  suid: [0, M.MS_NOSUID],
  nodev: [M.MS_NODEV, 0],
  dev: [0, M.MS_NODEV],
  noexec: [M.MS_NOEXEC, 0],
  exec: [0, M.MS_NOEXEC],
  bind: [M.MS_BIND, 0],
  rbind: [M.MS_BIND | M.MS_REC, 0],
  noatime: [M.MS_NOATIME, 0],
  nodiratime: [M.MS_NODIRATIME, 0],
  relatime: [M.MS_RELATIME, 0],
  strictatime: [M.MS_STRICTATIME, 0],
  private: [M.MS_PRIVATE, 0],
  rprivate: [M.MS_PRIVATE | M.MS_REC, 0],
  slave: [M.MS_SLAVE, 0],
  rslave: [M.MS_SLAVE | M.MS_REC, 0],
};

export function parseMountOptions(options: string[] = []): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    const f = FLAGS[o];
    if (f) flags = (flags | f[0]) & ~f[1];
    else if (!o.startsWith("x-")) data.push(o); // x-*: the runtime's own notes, never the kernel's (as mount(8))
  }
  return { flags, data: data.join(",") };
}
