/**
 * cgroup v2 manager (kernel Documentation/admin-guide/cgroup-v2.rst): one unified tree. The
 * container goes to `<own>/mydocker/<id>` (own = this process's cgroup from "0::<path>") or
 * `<parent>/<id>`; controllers are enabled top-down in each managed ancestor's subtree_control.
 *
 * No-internal-process rule ("No Internal Process Constraint" in cgroup-v2.rst): a non-root cgroup
 * that has processes cannot enable controllers for its children (EBUSY). Our own cgroup usually
 * does have processes (us, our shell), so before writing a managed ancestor's subtree_control we
 * move whatever processes it holds into its child leaf `mydocker-host` (what systemd-style tools
 * do with an "init" sub-cgroup). A later mydocker started from there sees `<own>/mydocker-host`
 * in /proc/self/cgroup and treats `<own>` as its own cgroup again, so placement stays stable.
 */
import { closeSync, existsSync } from "node:fs";
import { posix } from "node:path";
import { BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, BPF_PROG_TYPE_CGROUP_DEVICE, bpfProgAttachCgroup, bpfProgLoad } from "../../ffi/bpf";
import { sharesToWeight } from "./cpu-weight.ts";
import { deviceFilter } from "./device-filter.ts";
import type { Cgroup, CgroupResources } from "./index.ts";
import {
  ancestorsBelow, cgAppend, cgJoin, cgMkdir, cgRead, cgRmdir, cgWrite, errno, parsePids, removeLeaf, removedAtOnce,
  requestedControllers, retryIfParentVanished,
} from "./index.ts";

export const HOST_LEAF = "mydocker-host";
// io for its counters only (io.stat: `stats`' block I/O), where the parent offers it
const WANTED = ["cpuset", "cpu", "io", "memory", "pids"];
/** enabled where the kernel lets us; a refusal is not an error */
const OPTIONAL = new Set(["io"]);

const words = (text: string | null) => (text === null ? null : new Set(text.split(/\s+/).filter(Boolean)));

export class CgroupV2 implements Cgroup {
  readonly version = 2 as const;
  readonly path: string;
  /** non-root ancestors of the leaf whose subtree_control we manage, top-down */
  private readonly managed: string[];
  private readonly defaultPlacement: boolean;
  private created: string[] = [];

  constructor(private readonly o: { id: string; parent?: string; root: string; self: Map<string, string> }) {
    let own = o.self.get("") ?? "/";
    if (posix.basename(own) === HOST_LEAF) own = posix.dirname(own);
    this.defaultPlacement = o.parent === undefined;
    this.path = o.parent !== undefined ? cgJoin(o.parent, o.id) : cgJoin(own, "mydocker", o.id);
    // --cgroup-parent: every non-root ancestor; default: from our own cgroup down (never above it:
    // the levels above belong to whoever placed us, e.g. systemd). The root itself only when it
    // is our own cgroup: then nobody above us enables its controllers (no systemd, e.g. a bare VM
    // or a container's init), and without that no controller reaches `/mydocker`.
    this.managed = ancestorsBelow(o.parent !== undefined ? "/" : own, this.path).filter((p) => p !== "/" || own === "/");
  }

  private dir(p: string = this.path): string {
    return p === "/" ? this.o.root : this.o.root + p;
  }

  create(res: CgroupResources): void {
    const program = res.devices && deviceFilter(res.devices); // bad rules fail before any mkdir
    try {
      // Another container's teardown may remove the shared `mydocker` dir between two of our
      // steps: then make the whole chain again (controllers included).
      retryIfParentVanished(() => {
        // what the first managed level (or the leaf) receives from its parent
        let avail = words(cgRead(`${this.dir(posix.dirname(this.managed[0] ?? this.path))}/cgroup.subtree_control`)) ?? new Set();
        for (const p of this.managed) {
          if (cgMkdir(this.dir(p))) this.created.push(p);
          // cgroup.controllers = what the parent enabled. A fake tree has no such file in dirs we make.
          const ctl = words(cgRead(`${this.dir(p)}/cgroup.controllers`)) ?? avail;
          const have = words(cgRead(`${this.dir(p)}/cgroup.subtree_control`)) ?? new Set<string>();
          const missing = WANTED.filter((c) => ctl.has(c) && !have.has(c));
          const needed = missing.filter((c) => !OPTIONAL.has(c));
          let enabled = missing;
          try {
            if (missing.length) this.enable(p, missing); // one write, as a rule
          } catch (err) {
            if (needed.length === missing.length) throw err;
            if (needed.length) this.enable(p, needed); // without io (counters only): a refusal of it is no error
            enabled = needed;
          }
          avail = new Set([...have, ...enabled]);
        }
        for (const c of requestedControllers(res)) {
          if (!avail.has(c)) throw new Error(`cgroup v2: the ${c} controller is not available in ${posix.dirname(this.path)}`);
        }
        if (cgMkdir(this.dir())) this.created.push(this.path);
      });

      this.update(res);
      if (program) attachDeviceFilter(this.dir(), program.bytes);
    } catch (err) {
      this.removeCreated();
      throw err;
    }
  }

  update(res: CgroupResources): void {
    const file = (name: string) => `${this.dir()}/${name}`;
    const { memory, cpu, pids } = res;
    if (memory?.limit !== undefined) cgWrite(file("memory.max"), memory.limit);
    if (cpu?.shares !== undefined) cgWrite(file("cpu.weight"), sharesToWeight(cpu.shares));
    if (cpu?.quota !== undefined || cpu?.period !== undefined) {
      // "$MAX $PERIOD"; writing a single number only updates $MAX (cgroup-v2.rst, cpu.max)
      const max = cpu.quota === undefined || cpu.quota <= 0 ? "max" : String(cpu.quota);
      cgWrite(file("cpu.max"), cpu.period === undefined ? max : `${max} ${cpu.period}`);
    }
    if (cpu?.cpus !== undefined) cgWrite(file("cpuset.cpus"), cpu.cpus);
    if (cpu?.mems !== undefined) cgWrite(file("cpuset.mems"), cpu.mems);
    if (pids?.limit !== undefined) cgWrite(file("pids.max"), pids.limit);
  }

  /** Enable controllers for p's children, first moving p's own processes out (see top comment). */
  private enable(p: string, controllers: string[]): void {
    for (let attempt = 1; ; attempt++) {
      this.evacuate(p);
      try {
        cgWrite(`${this.dir(p)}/cgroup.subtree_control`, controllers.map((c) => `+${c}`).join(" "));
        return;
      } catch (err) {
        // EBUSY again: a process forked into p while we were moving the others
        if (errno(err) !== "EBUSY" || attempt === 5) throw err;
      }
    }
  }

  private evacuate(p: string): void {
    if (p === "/") return; // the root cgroup is exempt from the rule (and holds kernel threads)
    const pids = parsePids(cgRead(`${this.dir(p)}/cgroup.procs`));
    if (pids.length === 0) return;
    const host = cgJoin(p, HOST_LEAF);
    cgMkdir(this.dir(host)); // deliberately not in `created`: it outlives this container
    for (const pid of pids) {
      try {
        cgAppend(`${this.dir(host)}/cgroup.procs`, pid);
      } catch (err) {
        if (errno(err) !== "ESRCH") throw err; // ESRCH: it exited meanwhile
      }
    }
  }

  addProcess(pid: number): void {
    cgAppend(`${this.dir()}/cgroup.procs`, pid);
  }

  selfJoinFiles(): undefined {
    return undefined; // every thread of a process is in one cgroup (unless threaded): it is born there
  }

  birthDir(): string {
    return this.dir();
  }

  oomKilled(): boolean {
    return Number(/^oom_kill (\d+)/m.exec(cgRead(`${this.dir()}/memory.events`) ?? "")?.[1] ?? 0) > 0;
  }

  pids(): number[] {
    return parsePids(cgRead(`${this.dir()}/cgroup.procs`));
  }

  file(name: string): string {
    return `${this.dir()}/${name}`;
  }

  setFrozen(frozen: boolean): void {
    cgWrite(`${this.dir()}/cgroup.freeze`, frozen ? "1" : "0");
  }

  destroy(): void {
    // cgroup.kill (Linux 5.14+) also catches tasks racing to fork; removeLeaf SIGKILLs per pid
    // anyway. Fatal signals reach frozen tasks in v2, so no thaw is needed.
    if (!removedAtOnce(this.dir())) {
      if (existsSync(this.file("cgroup.kill"))) cgWrite(this.file("cgroup.kill"), "1");
      removeLeaf(this.dir(), () => this.pids());
    }
    // The shared `<own>/mydocker` goes once empty; other ancestors only if we created them.
    // (each dir tried once: the leaf is gone)
    const shared = this.defaultPlacement ? [posix.dirname(this.path)] : [];
    this.created = [...new Set([...this.created, ...shared])].filter((p) => p !== this.path);
    this.removeCreated();
  }

  /** Best-effort rmdir, deepest first; a "busy" dir is still in use (another container): keep it. */
  private removeCreated(): void {
    for (const p of this.created.sort((a, b) => b.length - a.length)) {
      try {
        cgRmdir(this.dir(p));
      } catch {
        // never mask the error that got us here
      }
    }
    this.created = [];
  }
}

/**
 * Loads the device program and attaches it to the cgroup directory. The attachment holds the
 * program, so our fd is closed right after; rmdir of the cgroup releases both (cgroup_bpf_release).
 * BPF_F_ALLOW_MULTI: a program attached above us (e.g. by systemd) still runs too, and a later
 * manager may add its own below.
 */
function attachDeviceFilter(dir: string, insns: Buffer): void {
  const fd = bpfProgLoad(BPF_PROG_TYPE_CGROUP_DEVICE, insns, "Apache", "mydocker_dev");
  try {
    bpfProgAttachCgroup(fd, dir, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
  } finally {
    closeSync(fd);
  }
}
