// `--user NAME[:GROUP]` / `UID[:GID]` resolved the way docker (and runc's libcontainer/user) does:
// from the container's own /etc/passwd and /etc/group, read inside the new root, never the host's.
import { readText } from "../../ffi/file";

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** supplementary groups: the user's groups in /etc/group, then the additional ones */
  groups: number[];
  home: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

const isId = (s: string) => /^\d+$/.test(s);

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || !isId(f[2]!) || !isId(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || !isId(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(",").filter(Boolean) });
  }
  return out;
}

function readOrEmpty(path: string): string {
  try {
    return readText(path);
  } catch {
    return "";
  }
}

/**
 * `spec` is USER[:GROUP] with names or numbers. A numeric user need not exist in /etc/passwd
 * (its gid is then 0 unless given); a name must. Group names (in GROUP and --group-add) come
 * from /etc/group. Throws a one-line error naming what was not found.
 */
export function resolveUser(spec: string, additional: (string | number)[] = [], files = { passwd: readOrEmpty("/etc/passwd"), group: readOrEmpty("/etc/group") }): ResolvedUser {
  const [userPart = "", groupPart] = spec.split(":", 2);
  const users = parsePasswd(files.passwd);
  const groups = parseGroup(files.group);
  const entry = isId(userPart) ? users.find((u) => u.uid === Number(userPart)) : users.find((u) => u.name === userPart);
  if (!entry && !isId(userPart)) throw new Error(`unable to find user ${userPart}: no matching entries in passwd file`);
  const uid = entry?.uid ?? Number(userPart);
  const findGroup = (g: string | number): number => {
    if (typeof g === "number" || isId(g)) return Number(g);
    const hit = groups.find((e) => e.name === g);
    if (!hit) throw new Error(`unable to find group ${g}: no matching entries in group file`);
    return hit.gid;
  };
  const gid = groupPart !== undefined && groupPart !== "" ? findGroup(groupPart) : (entry?.gid ?? 0);
  const member = entry ? groups.filter((g) => g.members.includes(entry.name)).map((g) => g.gid) : [];
  // with an explicit GROUP, docker gives only that group (and --group-add), not the user's memberships
  const supplementary = groupPart !== undefined && groupPart !== "" ? [] : member;
  const all = [...supplementary, ...additional.map(findGroup)];
  return { uid, gid, groups: [...new Set(all)], home: entry?.home || "/" };
}
