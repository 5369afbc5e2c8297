/**
 * cgroup v1 manager: one directory per hierarchy (cgroups(7) "Cgroups version 1").
 * Each controller is placed under this process's own cgroup *in that hierarchy* (the paths in
 * /proc/self/cgroup differ per controller), i.e. `<own>/mydocker/<id>`, or `<parent>/<id>`.
 */
import { closeSync, existsSync, openSync, writeSync } from "node:fs";
import { posix } from "node:path";
import { normalizeRule, v1Line } from "./device-rules.ts";
import type { Cgroup, CgroupResources } from "./index.ts";
import {
  ancestorsBelow, cgAppend, cgJoin, cgMkdir, cgRead, cgRmdir, cgWrite, errno, fsError, killPids, parsePids, removeLeaf, removedAtOnce,
  requestedControllers, retryIfParentVanished,
} from "./index.ts";

// cpuacct is used wherever it is mounted (co-mounted with cpu, or on its own as on some hybrid
// hosts) so per-container CPU accounting (file("cpuacct.usage")) always works. devices is joined
// too: without rules the container inherits its parent's list. blkio is joined for its counters
// (`stats`' block I/O: blkio.throttle.io_service_bytes), as docker does, with no limits written.
const CONTROLLERS = ["memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio"];
/** joined where we may: a hierarchy of these alone that refuses our mkdir is left out, not an error */
const OPTIONAL = new Set(["blkio"]);

interface Hierarchy {
  controllers: string[]; // the ones we use that live in this hierarchy (e.g. cpu + cpuacct when co-mounted)
  mount: string; // mount point
  leaf: string; // leaf path relative to the mount
}

/**
 * controller -> { mount point, root of the mount inside the hierarchy } for every "cgroup" mount.
 * mountinfo fields (proc(5)): id parent maj:min root mountpoint opts [optional...] - fstype source superopts
 */
export function parseCgroupMounts(mountinfo: string): Map<string, { mount: string; root: string }> {
  const out = new Map<string, { mount: string; root: string }>();
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  for (const line of mountinfo.split("\n")) {
    const [pre = "", post = ""] = line.split(" - ");
    const [fstype, , superopts = ""] = post.split(" ");
    const [, , , root = "/", mount = ""] = pre.split(" ");
    if (fstype !== "cgroup" || !mount) continue;
    for (const opt of superopts.split(",")) {
      if (!out.has(opt)) out.set(opt, { mount: unescape(mount), root: unescape(root) });
    }
  }
  return out;
}

export class CgroupV1 implements Cgroup {
  readonly version = 1 as const;
  readonly path: string;
  private hiers: Hierarchy[] = [];
  private readonly defaultPlacement: boolean;
  private created: [Hierarchy, string][] = []; // dirs create() made, in creation order

  constructor(o: { id: string; parent?: string; root: string; self: Map<string, string>; mountinfo?: string }) {
    const mounts = o.mountinfo === undefined ? undefined : parseCgroupMounts(o.mountinfo);
    this.defaultPlacement = o.parent === undefined;
    const byMount = new Map<string, Hierarchy>();
    for (const c of CONTROLLERS) {
      let own = o.self.get(c);
      const m = mounts ? mounts.get(c) : { mount: `${o.root}/${c}`, root: "/" };
      if (own === undefined || !m || (!mounts && !existsSync(m.mount))) continue; // controller not available
      // A mount of a sub-tree (mount root != "/") shows only that part: make `own` relative to it.
      if (m.root !== "/" && (own === m.root || own.startsWith(`${m.root}/`))) own = own.slice(m.root.length) || "/";
      const h = byMount.get(m.mount);
      if (h) h.controllers.push(c);
      else {
        const leaf = o.parent !== undefined ? cgJoin(o.parent, o.id) : cgJoin(own, "mydocker", o.id);
        byMount.set(m.mount, { controllers: [c], mount: m.mount, leaf });
      }
    }
    this.hiers = [...byMount.values()];
    // memory first: it is the "primary" hierarchy for path, pids(), tasks/cgroup.procs
    this.hiers.sort((a, b) => Number(b.controllers.includes("memory")) - Number(a.controllers.includes("memory")));
    this.path = this.hiers[0]?.leaf ?? (o.parent !== undefined ? cgJoin(o.parent, o.id) : cgJoin("/mydocker", o.id));
  }

  private dir(h: Hierarchy, p: string = h.leaf): string {
    return p === "/" ? h.mount : h.mount + p;
  }

  private hier(controller: string): Hierarchy | undefined {
    return this.hiers.find((h) => h.controllers.includes(controller));
  }

  create(res: CgroupResources): void {
    for (const c of [...requestedControllers(res), ...(res.devices ? ["devices"] : [])]) {
      if (!this.hier(c)) throw new Error(`cgroup v1: the ${c} controller is not mounted`);
    }
    const deviceLines = res.devices?.map((r) => [r.allow ? "devices.allow" : "devices.deny", v1Line(normalizeRule(r))] as const);
    try {
      for (const h of [...this.hiers]) {
        // mkdir -p, skipping the hierarchy root (we never write to its files). Another container's
        // teardown may remove the shared `mydocker` dir between two of our mkdirs: start again.
        const mkdirs = () =>
          retryIfParentVanished(() => {
            for (const p of [...ancestorsBelow("/", h.leaf).slice(1), h.leaf]) {
              const made = cgMkdir(this.dir(h, p));
              if (made) this.created.push([h, p]);
              if (h.controllers.includes("cpuset")) this.initCpuset(h, p, made, p === h.leaf ? res.cpu : undefined);
            }
          });
        if (!h.controllers.every((c) => OPTIONAL.has(c))) mkdirs();
        else {
          try {
            mkdirs();
          } catch {
            this.hiers = this.hiers.filter((x) => x !== h); // counters only: the container goes without
          }
        }
      }
      this.update({ memory: res.memory, cpu: res.cpu && { ...res.cpu, cpus: undefined, mems: undefined }, pids: res.pids });
      if (deviceLines) this.writeDeviceRules(this.dir(this.hier("devices")!), deviceLines);
    } catch (err) {
      this.removeCreated();
      throw err;
    }
  }

  /**
   * Deny everything, then each rule in order (cgroup-v1/devices.rst): the kernel keeps a default
   * and a list of exceptions (device-rules.ts). One write per line, appended, so that a fake tree
   * keeps them all; the kernel strips the newline.
   */
  private writeDeviceRules(dir: string, lines: (readonly [string, string])[]): void {
    // each file opened once: a rule is one write(2), and docker's defaults are a dozen rules
    const files = new Map<string, number>();
    try {
      for (const [name, line] of [["devices.deny", "a"] as const, ...lines]) {
        try {
          let fd = files.get(name);
          if (fd === undefined) files.set(name, (fd = openSync(`${dir}/${name}`, "a")));
          writeSync(fd, `${line}\n`);
        } catch (err) {
          throw Object.assign(new Error(`${fsError("write", name, err).message} (${JSON.stringify(line)})`), { code: errno(err) });
        }
      }
    } finally {
      for (const fd of files.values()) closeSync(fd);
    }
  }

  update(res: CgroupResources): void {
    const file = (c: string, name: string) => {
      const h = this.hier(c);
      if (!h) throw new Error(`cgroup v1: the ${c} controller is not mounted`);
      return `${this.dir(h)}/${name}`;
    };
    const { memory, cpu, pids } = res;
    if (memory?.limit !== undefined) cgWrite(file("memory", "memory.limit_in_bytes"), memory.limit);
    if (cpu?.shares !== undefined) cgWrite(file("cpu", "cpu.shares"), cpu.shares);
    // period first: the kernel validates quota against the current period
    if (cpu?.period !== undefined) cgWrite(file("cpu", "cpu.cfs_period_us"), cpu.period);
    if (cpu?.quota !== undefined) cgWrite(file("cpu", "cpu.cfs_quota_us"), cpu.quota);
    if (cpu?.cpus !== undefined) cgWrite(file("cpuset", "cpuset.cpus"), cpu.cpus);
    if (cpu?.mems !== undefined) cgWrite(file("cpuset", "cpuset.mems"), cpu.mems);
    if (pids?.limit !== undefined) cgWrite(file("pids", "pids.max"), pids.limit);
  }

  /**
   * A new v1 cpuset starts with empty cpuset.cpus/mems, and attaching a task to it fails with
   * ENOSPC until both are set (cpusets(7)). So every dir we create gets the user's value (leaf
   * only) or a copy of its parent's. A parent that a concurrent mydocker has just made may still
   * be empty, and a child may hold only CPUs its parent has (else EACCES, cpusets(7)): an empty
   * dir on the way down gets the copy too, whoever made it (both write the same value).
   */
  private initCpuset(h: Hierarchy, p: string, made: boolean, cpu: CgroupResources["cpu"]): void {
    for (const [name, value] of [["cpuset.cpus", cpu?.cpus], ["cpuset.mems", cpu?.mems]] as const) {
      const path = `${this.dir(h, p)}/${name}`;
      if (value !== undefined) cgWrite(path, value);
      else if (made || (cgRead(path) ?? "").trim() === "") cgWrite(path, this.inheritedCpuset(h, p, name));
    }
  }

  /** The nearest ancestor's non-empty value: a parent that a concurrent mydocker has just made
   *  may not have had its own copy written yet. */
  private inheritedCpuset(h: Hierarchy, p: string, name: string): string {
    for (let a = posix.dirname(p); ; a = posix.dirname(a)) {
      const value = (cgRead(`${this.dir(h, a)}/${name}`) ?? "").trim();
      if (value !== "" || a === "/") return value;
    }
  }

  addProcess(pid: number): void {
    for (const h of this.hiers) cgAppend(`${this.dir(h)}/cgroup.procs`, pid);
  }

  selfJoinFiles(): string[] {
    return this.hiers.map((h) => `${this.dir(h)}/tasks`);
  }

  birthDir(): undefined {
    return undefined; // CLONE_INTO_CGROUP is cgroup2's
  }

  oomKilled(): boolean {
    const h = this.hier("memory");
    const text = h ? cgRead(`${this.dir(h)}/memory.oom_control`) : null;
    return Number(/^oom_kill (\d+)/m.exec(text ?? "")?.[1] ?? 0) > 0; // line exists since Linux 4.13
  }

  pids(): number[] {
    return this.hiers[0] ? parsePids(cgRead(`${this.dir(this.hiers[0])}/cgroup.procs`)) : [];
  }

  file(name: string): string {
    const prefix = name.split(".")[0] ?? "";
    const generic = name === "tasks" || prefix === "cgroup" || name === "notify_on_release";
    const h = generic ? this.hiers[0] : this.hier(prefix);
    if (!h) throw new Error(`cgroup v1: no mounted hierarchy for ${name}`);
    return `${this.dir(h)}/${name}`;
  }

  setFrozen(frozen: boolean): void {
    const h = this.hier("freezer");
    if (!h) throw new Error("cgroup v1: the freezer controller is not mounted");
    cgWrite(`${this.dir(h)}/freezer.state`, frozen ? "FROZEN" : "THAWED");
  }

  destroy(): void {
    // Usually nothing runs there any more (see removedAtOnce): each leaf goes with one rmdir.
    const left = this.hiers.filter((h) => !removedAtOnce(this.dir(h)));
    const procsOf = (h: Hierarchy) => () => parsePids(cgRead(`${this.dir(h)}/cgroup.procs`));
    for (const h of left) killPids(procsOf(h)());
    // A frozen task only acts on SIGKILL once thawed (kernel freezer-subsystem.rst).
    const fz = left.find((h) => h.controllers.includes("freezer"));
    const state = fz ? cgRead(`${this.dir(fz)}/freezer.state`) : null;
    if (fz && state && !state.startsWith("THAWED")) cgWrite(`${this.dir(fz)}/freezer.state`, "THAWED");
    for (const h of left) removeLeaf(this.dir(h), procsOf(h));
    // The shared `<own>/mydocker` dir goes once empty, even when another process created it;
    // other ancestors only if this object created them. (Each dir tried once: the leaves are gone.)
    const leaves = new Set(this.hiers.map((h) => this.dir(h)));
    const shared = this.defaultPlacement ? this.hiers.map((h): [Hierarchy, string] => [h, posix.dirname(h.leaf)]) : [];
    const seen = new Set<string>();
    this.created = [...this.created, ...shared].filter(([h, p]) => {
      const dir = this.dir(h, p);
      return !leaves.has(dir) && !seen.has(dir) && seen.add(dir);
    });
    this.removeCreated();
  }

  /** Best-effort rmdir of created dirs, deepest first; "busy" (still in use, e.g. by another container) stays. */
  private removeCreated(): void {
    for (const [h, p] of this.created.sort((a, b) => b[1].length - a[1].length)) {
      try {
        cgRmdir(this.dir(h, p));
      } catch {
        // never mask the error that got us here
      }
    }
    this.created = [];
  }
}
