// cgroup v2 from the outside: what the kernel shows in the unified tree while a container runs.
// Only meaningful on a host whose /sys/fs/cgroup is a pure cgroup2 mount; this development host
// is v1/hybrid, so these run under `make test-vm` (a qemu guest booted with cgroup2 only), which
// runs them twice: with the test runner in the root cgroup, and in a systemd-like session scope.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { containerCgroupDir, expectHostUnchanged, hostSnapshot, mydocker, startContainer, type HostSnapshot } from "./helpers";

const CG = "/sys/fs/cgroup";
const V2 = existsSync(`${CG}/cgroup.controllers`);
const SKIP_REASON = "skipped: /sys/fs/cgroup is not a pure cgroup2 mount (cgroup v1 or hybrid host); `make test-vm` runs these in a cgroup2-only VM";
if (!V2) console.log(`test/e2e/cgroup-v2.test.ts: ${SKIP_REASON}`);

const read = (file: string) => readFileSync(file, "utf8").trim();
const words = (file: string) => read(file).split(/\s+/).filter(Boolean);
const keyed = (file: string) => Object.fromEntries(read(file).split("\n").map((l) => l.split(" ") as [string, string]).map(([k, v]) => [k, Number(v)]));
/** The runner's own cgroup as mydocker sees it (a trailing mydocker-host is where it moved us). */
const own = () => {
  const p = read("/proc/self/cgroup").split("\n").find((l) => l.startsWith("0::"))!.slice(3);
  return basename(p) === "mydocker-host" ? dirname(p) : p;
};
const dirOf = (p: string) => (p === "/" ? CG : join(CG, p));
/** the highest online CPU (a cpuset other than the default "all", when there are several) */
const lastCpu = () => read("/sys/devices/system/cpu/online").split(/[-,]/).pop()!;

/** Starts `mydocker run -i ARGS... sh -c "echo $HOSTNAME; SCRIPT; read x"` (builtins only: no
 *  short-lived child lingers in the cgroup), hands its short id to `body`, and always ends it. */
async function withContainer(args: string[], script: string, body: (c: ReturnType<typeof startContainer>, id: string) => Promise<void>): Promise<number> {
  const c = startContainer(["run", "-i", ...args, "sh", "-c", `echo $HOSTNAME; ${script}${script ? "; " : ""}read x`]);
  let code: number | undefined;
  try {
    const id = await c.line();
    await body(c, id);
  } finally {
    code = (await c.finish()).code;
  }
  return code;
}

let before: HostSnapshot;
beforeEach(() => {
  before = hostSnapshot();
});
afterEach(async () => {
  await expectHostUnchanged(before);
});

describe.skipIf(!V2)(`cgroup v2${V2 ? "" : " (skipped: not a pure cgroup2 host; `make test-vm` runs these)"}`, () => {
  test("limits land in memory.max, cpu.max, cpu.weight, cpuset.cpus(.effective), pids.max; the process is in the leaf", async () => {
    const cpu = lastCpu();
    let dir = "";
    const code = await withContainer(["-m", "48m", "--cpu-shares", "512", "--cpus", "0.5", "--cpuset-cpus", cpu, "--pids-limit", "20"], "", async (_, id) => {
      dir = containerCgroupDir(id, "memory");
      expect(dir).toBe(join(dirOf(own()), "mydocker", basename(dir)));
      expect(basename(dir).startsWith(id)).toBe(true);
      expect(read(`${dir}/memory.max`)).toBe(String(48 * 1024 * 1024));
      expect(read(`${dir}/cpu.max`)).toBe("50000 100000");
      expect(read(`${dir}/cpu.weight`)).toBe("59"); // shares 512 -> weight 59 (runc's curve)
      expect(read(`${dir}/cpuset.cpus`)).toBe(cpu);
      expect(read(`${dir}/cpuset.cpus.effective`)).toBe(cpu);
      expect(read(`${dir}/pids.max`)).toBe("20");
      const pids = words(`${dir}/cgroup.procs`);
      expect(pids.length).toBe(1); // sh, PID 1 of the container
      // the host's view of that process: in the leaf, by path (the container sees "0::/")
      expect(read(`/proc/${pids[0]}/cgroup`)).toBe(`0::${dir.slice(CG.length)}`);
      expect(read(`/proc/${pids[0]}/status`).match(/^Cpus_allowed_list:\s*(.*)$/m)?.[1]).toBe(cpu);
    });
    expect(code).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  test("controllers are enabled along the path, and no cgroup with enabled controllers holds a process", async () => {
    let leaf = "";
    const mine = own();
    const code = await withContainer(["-m", "32m", "--pids-limit", "20", "--cpus", "1"], "", async (_, id) => {
      leaf = containerCgroupDir(id, "memory");
      // every level from our own cgroup down to the leaf's parent delegates what a container needs
      for (const p of [dirOf(mine), join(dirOf(mine), "mydocker")]) {
        expect(words(`${p}/cgroup.subtree_control`)).toEqual(expect.arrayContaining(["cpu", "memory", "pids"]));
        // the no-internal-processes rule (the root cgroup is exempt from it)
        if (p !== CG) expect(words(`${p}/cgroup.procs`)).toEqual([]);
      }
      expect(words(`${leaf}/cgroup.controllers`)).toEqual(expect.arrayContaining(["cpu", "memory", "pids"]));
      expect(words(`${leaf}/cgroup.subtree_control`)).toEqual([]);
      expect(read(`${leaf}/cgroup.type`)).toBe("domain");
      if (mine !== "/") {
        // our own cgroup held processes (this runner, its shell): mydocker moved them to a leaf
        expect(read("/proc/self/cgroup")).toBe(`0::${join(mine, "mydocker-host")}`);
        expect(words(join(dirOf(mine), "mydocker-host", "cgroup.procs"))).toContain(String(process.pid));
      } else {
        expect(words(`${CG}/cgroup.procs`)).toContain(String(process.pid)); // the root's processes stay
      }
    });
    expect(code).toBe(0);
    expect(existsSync(leaf)).toBe(false);
    expect(existsSync(join(dirOf(mine), "mydocker"))).toBe(false); // the shared dir goes when empty
  });

  test("an allocation over memory.max is OOM-killed and counted in memory.events", async () => {
    // dd is killed; the shell (PID 1) stays so the cgroup can be inspected while it lives
    let dir = "";
    const code = await withContainer(["-m", "32m"], "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo dd=$?", async (c, id) => {
      expect(await c.line()).toBe("dd=137");
      dir = containerCgroupDir(id, "memory");
      const events = keyed(`${dir}/memory.events`);
      expect(events.oom_kill).toBeGreaterThanOrEqual(1);
      expect(events.oom).toBeGreaterThanOrEqual(1);
      expect(events.max).toBeGreaterThanOrEqual(1);
      expect(Number(read(`${dir}/memory.current`))).toBeLessThanOrEqual(32 * 1024 * 1024);
    });
    expect(code).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  test("the whole container OOM-killed: exit 137, mydocker says so (from memory.events)", async () => {
    const r = await mydocker(["run", "-m", "32m", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    expect(r.code).toBe(137);
    expect(r.stderr).toContain("OOM-killed");
  });

  test("pids.max stops forks: pids.events counts the refusals, pids.current stays within the limit", async () => {
    // the fork loop runs in a subshell (a failed fork ends the shell that tried it), PID 1 stays
    let dir = "";
    await withContainer(["--pids-limit", "5"], "(for i in 1 2 3 4 5 6 7 8; do sleep 30 & done) 2>/dev/null; echo forked", async (c, id) => {
      expect(await c.line()).toBe("forked");
      dir = containerCgroupDir(id, "pids");
      expect(read(`${dir}/pids.max`)).toBe("5");
      expect(keyed(`${dir}/pids.events`).max).toBeGreaterThanOrEqual(1);
      const current = Number(read(`${dir}/pids.current`));
      expect(current).toBeGreaterThanOrEqual(4); // sh + the sleeps that got a pid
      expect(current).toBeLessThanOrEqual(5);
      expect(words(`${dir}/cgroup.procs`).length).toBe(current);
    }); // the sleeps die with PID 1; the leaf goes
    expect(existsSync(dir)).toBe(false);
  });
});
