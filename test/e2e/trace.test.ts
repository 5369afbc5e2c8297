// --trace: every kernel-facing step of a start (run) or of an exec, in order, with its process,
// the call as written by hand, its result and its time; --trace=json for tools. The container's
// own output is untouched (the trace goes to stderr, after the container ends).
import { beforeAll, expect, test } from "bun:test";
import { checkHostAroundEachTest, mydocker } from "./helpers";

checkHostAroundEachTest();
// the first bridge container on a host may print its one ip_forward notice: before the traces
beforeAll(async () => expect((await mydocker(["run", "--rm", "true"])).code).toBe(0));

test("run --trace: the init's steps in the order of a start, each with its result, after the command's output", async () => {
  const r = await mydocker(["run", "--rm", "--trace", "sh", "-c", "echo out"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("out\n");
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^\s+at µs\s+took µs\s+who\s+step$/);
  const steps = lines.slice(1).map((l) => /^\s*(\d+)\s+(\d+)\s+(parent|init)\s+(.*)$/.exec(l)!);
  expect(steps.every(Boolean)).toBe(true);
  const at = steps.map((m) => Number(m[1]));
  expect(at).toEqual([...at].sort((a, b) => a - b)); // in time order
  const init = steps.filter((m) => m[3] === "init").map((m) => m[4]!);
  const index = (re: RegExp) => init.findIndex((s) => re.test(s));
  const order = [
    /^Bun start-up/, /^unshare\(CLONE_NEWNS\|.*CLONE_NEWIPC\) = 0$/, /^mount\(NULL, "\/", NULL, MS_REC\|MS_PRIVATE\) = 0$/,
    /^pivot_root\("\.", "\."\) = 0$/, /^umount2\("\.", MNT_DETACH\) = 0$/, /^mount\("proc", "\/proc", "proc", MS_NOSUID\|MS_NODEV\|MS_NOEXEC\) = 0$/,
    /^mknod\("\/dev\/null", S_IFCHR\|0666, makedev\(1, 3\)\) = 0$/, /^sethostname\("[0-9a-f]{12}"\) = 0$/, /^seccomp\(1, 0, …\) = 0$/, /^capset\(…, …\) = 0$/,
    /^every signal to its default action \(rt_sigaction of 1\.\.64\), none blocked$/, /^sigprocmask\(2, …, NULL\) = 0$/,
  ].map(index);
  // a loop of calls is one step, not one line per call
  expect(init.filter((s) => s.startsWith("syscall"))).toEqual([]);
  expect(order.every((i) => i >= 0)).toBe(true);
  expect(order).toEqual([...order].sort((a, b) => a - b));
  const parent = steps.filter((m) => m[3] === "parent").map((m) => m[4]!);
  // on the default bridge the parent makes the init's PID and network namespaces, and wires the latter
  expect(parent.some((s) => /^unshare\(CLONE_NEWPID\|CLONE_NEWNET\) = 0$/.test(s))).toBe(true);
  const veth = parent.findIndex((s) => /^veth pair: veth[0-9a-f]{11} on .*, eth0 in the container's network namespace/.test(s));
  expect(veth).toBeGreaterThan(parent.findIndex((s) => s.startsWith("spawn `mydocker init`")));
  expect(parent.findIndex((s) => s.startsWith("eth0: ip "))).toBeGreaterThan(veth);
  expect(init.some((s) => s.includes("CLONE_NEWNET"))).toBe(false); // it was born in it
  expect(parent.some((s) => /^wait: the command runs until it exits = exit 0$/.test(s))).toBe(true);
});

const V1 = !require("node:fs").existsSync("/sys/fs/cgroup/cgroup.controllers");

// (cgroup v1 only: on cgroup2 the init is born in its cgroup, made before the spawn)
test.skipIf(!V1)("cgroup v1: the parent makes the cgroup after the orders; the init joins it before the cgroup mounts and device nodes, then makes its cgroup namespace", async () => {
  const r = await mydocker(["run", "--rm", "--network", "none", "--trace=json", "true"]);
  expect(r.code).toBe(0);
  const events = r.stderr.trimEnd().split("\n").map((l) => JSON.parse(l) as { who: string; what: string; startUs: number; durationUs: number });
  const first = (who: string, re: RegExp) => events.find((e) => e.who === who && re.test(e.what));
  const orders = first("parent", /^the orders to the init \(fd 3\)$/);
  const made = first("parent", /^cgroup v1: mkdir /);
  const join = first("init", /^cgroup v1: the init's thread joins by itself/);
  const init = events.filter((e) => e.who === "init").map((e) => e.what);
  const at = (re: RegExp) => init.findIndex((w) => re.test(w));
  expect([orders, made, join].every(Boolean)).toBe(true);
  // made once the orders went (the init may still be starting: its wait for them can begin later)
  expect(made!.startUs).toBeGreaterThanOrEqual(orders!.startUs + orders!.durationUs);
  const sequence = [
    /^unshare\(CLONE_NEWNS\|CLONE_NEWUTS\|CLONE_NEWIPC\|CLONE_NEWNET\)$/, // no cgroup namespace yet
    /^pivot_root/, /^mount\("proc"/, /^wait: the runtime makes the cgroup$/, /^cgroup v1: the init's thread joins by itself/,
    /^unshare\(CLONE_NEWCGROUP\)$/, /^mount\("cgroup"/, /^mknod\("\/dev\/null"/,
  ].map(at);
  expect(sequence.every((i) => i >= 0)).toBe(true);
  expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
});

test("exec --trace=json: one JSON object per step; the exec joins the container's namespaces with setns", async () => {
  expect((await mydocker(["run", "-d", "--name", "traced", "sleep", "30"])).code).toBe(0);
  const r = await mydocker(["exec", "--trace=json", "traced", "echo", "in"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("in\n");
  const steps = r.stderr.trimEnd().split("\n").map((l) => JSON.parse(l) as { who: string; what: string; result: string; startUs: number; durationUs: number });
  expect(steps.length).toBeGreaterThan(10);
  // (plain checks: bun 1.4.5's toMatchObject writes its asymmetric matchers into the objects it checks)
  for (const s of steps) expect([/^(parent|init)$/.test(s.who), typeof s.what, typeof s.startUs, typeof s.durationUs]).toEqual([true, "string", "number", "number"]);
  const init = steps.filter((s) => s.who === "init").map((s) => `${s.what} = ${s.result}`);
  for (const ns of ["CLONE_NEWNS", "CLONE_NEWNET", "CLONE_NEWIPC", "CLONE_NEWUTS"]) {
    expect(init.filter((s) => new RegExp(`^setns\\(\\d+, ${ns}\\) = 0$`).test(s))).toHaveLength(1);
  }
  expect(init.findIndex((s) => s.startsWith("unshare(CLONE_FS)"))).toBeLessThan(init.findIndex((s) => s.startsWith("setns(")));
});

test("a bad --trace value is a usage error; without --trace nothing is printed", async () => {
  const bad = await mydocker(["run", "--rm", "--trace=xml", "true"]);
  expect(bad.code).toBe(125);
  expect(bad.stderr.trim().split("\n")).toEqual([expect.stringContaining('invalid --trace "xml"')]);
  const plain = await mydocker(["run", "--rm", "true"]);
  expect(plain).toMatchObject({ code: 0, stdout: "", stderr: "" });
});
