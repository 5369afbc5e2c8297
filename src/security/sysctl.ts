// Which sysctls a container may set: only those that belong to one of its own namespaces
// (docker's and runc's list: ipc, uts, net). Anything else would change the host.

const IPC_KEYS = new Set(["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]);
const UTS_KEYS = new Set(["kernel.domainname", "kernel.hostname"]);

/** The namespace a sysctl key belongs to, or undefined when it is the host's (kernel.core_pattern). */
export function sysctlNamespace(key: string): "ipc" | "uts" | "network" | undefined {
  if (IPC_KEYS.has(key) || key.startsWith("fs.mqueue.")) return "ipc";
  if (UTS_KEYS.has(key)) return "uts";
  if (key.startsWith("net.")) return "network";
  return undefined;
}

/** `--sysctl KEY=VALUE` -> [key, value]; throws a one-line error for a host-wide key or bad text. */
export function parseSysctl(text: string, namespaces: string[]): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new Error(`invalid --sysctl "${text}": expected KEY=VALUE`);
  const key = text.slice(0, eq).trim().replaceAll("/", ".");
  const value = text.slice(eq + 1);
  if (!/^[a-z0-9_.-]+$/i.test(key) || key.includes("..")) throw new Error(`invalid --sysctl "${text}": bad key`);
  const ns = sysctlNamespace(key);
  if (!ns) throw new Error(`invalid --sysctl "${text}": ${key} is not namespaced (it would change the host)`);
  if (!namespaces.includes(ns)) throw new Error(`invalid --sysctl "${text}": the container shares the host's ${ns} namespace`);
  return [key, value];
}
