// Which cgroup version a host runs, alone, so that a start can ask before it loads the managers.
import { existsSync } from "node:fs";

export const DEFAULT_ROOT = "/sys/fs/cgroup";

/** 2 when `${root}/cgroup.controllers` exists (a pure v2 / unified mount), else 1 (v1 or hybrid). */
export function detectCgroupVersion(root: string = DEFAULT_ROOT): 1 | 2 {
  return existsSync(`${root}/cgroup.controllers`) ? 2 : 1;
}
