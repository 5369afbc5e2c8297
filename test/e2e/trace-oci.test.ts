// --trace on the OCI command line: `create --trace` prints the parent's and the init's steps up to
// the park (the init waits on exec.fifo); `start --trace` prints the FIFO's open, the wait for the
// parked init's byte, the unlink that makes the status running, the wait for the execve, and (when
// the create was traced too) the init's last steps between them. Without --trace, nothing.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, MYDOCKER, ROOTFS, testEnv } from "./helpers";

let dir: string;
let root: string;
let bundle: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mydocker-trace-oci-"));
  root = join(dir, "state");
  symlinkSync(MYDOCKER, join(dir, "mydocker-runc"));
  bundle = join(dir, "bundle");
  mkdirSync(bundle);
  expect((await oci(["spec", "--bundle", bundle])).code).toBe(0);
  const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  config.root = { path: ROOTFS, readonly: true };
  Object.assign(config.process, { terminal: false, args: ["echo", "ran"] });
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  // a test that failed half-way leaves nothing for the next one
  for (const id of (await oci(["list", "-q"])).stdout.split("\n").filter(Boolean)) await oci(["delete", "--force", id]);
});
checkHostAroundEachTest(async () => {
  expect((await oci(["list", "-q"])).stdout).toBe(""); // every test deletes its containers
});

let calls = 0;
/** `mydocker-runc --root ROOT ARGS`; output to files (a created init keeps the runtime's stdio). */
async function oci(args: string[]): Promise<{ code: number; stdout: string; stderr: string; out: string }> {
  const out = join(dir, `out-${++calls}`);
  const err = join(dir, `err-${calls}`);
  const proc = Bun.spawn([join(dir, "mydocker-runc"), "--root", root, ...args], { stdin: "ignore", stdout: Bun.file(out), stderr: Bun.file(err), env: testEnv(), timeout: 30_000 });
  const code = await proc.exited;
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
  return { code, stdout: read(out), stderr: read(err), out };
}

/** Deletes a started container once its command has exited (a running one needs no --force then). */
async function deleteWhenStopped(id: string): Promise<void> {
  for (let i = 0; i < 500 && JSON.parse((await oci(["state", id])).stdout).status !== "stopped"; i++) await Bun.sleep(10);
  expect((await oci(["delete", id])).code).toBe(0);
}

interface Step {
  at: number;
  who: string;
  what: string;
}

/** The table's rows (header checked), in the order printed. */
function table(stderr: string): Step[] {
  const [header, ...lines] = stderr.trimEnd().split("\n");
  expect(header).toMatch(/^\s+at µs\s+took µs\s+who\s+step$/);
  return lines.map((l) => {
    const m = /^\s*(\d+)\s+\d+\s+(parent|init)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`not a trace row: ${l}`);
    return { at: Number(m[1]), who: m[2]!, what: m[3]! };
  });
}

/** Each pattern matches a step of `steps`, and in the order given. */
function expectInOrder(steps: string[], patterns: RegExp[]): void {
  const at = patterns.map((re) => steps.findIndex((s) => re.test(s)));
  expect(patterns.filter((_, i) => at[i]! < 0)).toEqual([]);
  expect(at).toEqual([...at].sort((a, b) => a - b));
}

test("create --trace: the parent's and the init's steps up to the park, in time order; start --trace: the FIFO, the waits, the init's last steps", async () => {
  const created = await oci(["create", "--trace", "--bundle", bundle, "traced"]);
  expect(created.code).toBe(0);
  const c = table(created.stderr);
  expect(c.map((s) => s.at)).toEqual(c.map((s) => s.at).sort((a, b) => a - b));
  const parent = c.filter((s) => s.who === "parent").map((s) => s.what);
  expectInOrder(parent, [
    /^Bun start-up/, /^read the bundle: .*config\.json$/, /^mknod\(".*\/traced\/exec\.fifo", S_IFIFO\|0600, makedev\(0, 0\)\) = 0$/,
    /^unshare\(CLONE_NEWPID\) = 0$/, /^spawn `mydocker init`/, /^wait: the init makes the container and parks$/,
    /^write the record: state\.json/,
  ]);
  // the cgroup: before the spawn on v2 (the init is born in it), while the init starts on v1
  expectInOrder(parent, [/^cgroup v[12]: mkdir /, /^wait: the init makes the container and parks$/]);
  const init = c.filter((s) => s.who === "init").map((s) => s.what);
  expectInOrder(init, [
    /^Bun start-up/, /^wait: orders on fd 3/, /^unshare\(CLONE_NEWNS\|.*\) = 0$/, /^pivot_root\("\.", "\."\) = 0$/,
    /^mount\("proc", "\/proc", "proc", MS_NOSUID\|MS_NODEV\|MS_NOEXEC\) = 0$/, /^sethostname\("mydocker"\) = 0$/, /^look up echo in PATH$/,
  ]);
  // parked: nothing of the privileges yet (they come after start), and the init is still ours
  expect(init.filter((s) => /^(capset|setresuid|execve)\(/.test(s))).toEqual([]);
  const state = JSON.parse((await oci(["state", "traced"])).stdout);
  expect(state.status).toBe("created");
  expect(readFileSync(`/proc/${state.pid}/cmdline`, "utf8")).toContain("init");

  const started = await oci(["start", "--trace=json", "traced"]);
  expect(started.code).toBe(0);
  const s = started.stderr.trimEnd().split("\n").map((l) => JSON.parse(l) as { who: string; what: string; result: string; startUs: number; durationUs: number });
  for (const e of s) expect([/^(parent|init)$/.test(e.who), typeof e.startUs, typeof e.durationUs]).toEqual([true, "number", "number"]);
  const all = s.map((e) => `${e.who}: ${e.what}${e.result ? ` = ${e.result}` : ""}`);
  expectInOrder(all.filter((l) => l.startsWith("parent: ")), [
    /^parent: Bun start-up/, /^parent: read the record; the status/, /^parent: open\(".*\/traced\/exec\.fifo", O_RDONLY\|O_NONBLOCK\) = \d+$/,
    /^parent: wait: the parked init opens the FIFO for writing and writes its byte/, /^parent: unlink\(".*\/traced\/exec\.fifo"\)/,
    /^parent: wait: the init sets its privileges and execs the command/,
  ]);
  // the released init's last steps, after the FIFO was opened (the parent's unlink may fall among them)
  expectInOrder(all, [/^parent: open\(/, /^init: capset\(…, …\) = 0$/, /^init: prctl\(PR_SET_NO_NEW_PRIVS, 1\) = 0$/]);
  // the init's steps of the create are not repeated
  expect(all.filter((l) => /^init: (pivot_root|unshare)\(/.test(l))).toEqual([]);
  // the command's output (on the stdout it got from create), untouched by the trace
  for (let i = 0; i < 500 && !readFileSync(created.out, "utf8"); i++) await Bun.sleep(10);
  expect(readFileSync(created.out, "utf8") + started.stdout).toBe("ran\n");
  await deleteWhenStopped("traced");
});

test("start --trace after an untraced create: the start's own steps only; without --trace nothing is printed", async () => {
  const created = await oci(["create", "--bundle", bundle, "plain"]);
  expect(created).toMatchObject({ code: 0, stderr: "" });
  const started = await oci(["start", "--trace", "plain"]);
  expect(started.code).toBe(0);
  const steps = table(started.stderr);
  expect(steps.map((x) => x.who)).not.toContain("init");
  expectInOrder(steps.map((x) => x.what), [/^open\(/, /^wait: the parked init/, /^unlink\(/, /^wait: the init sets its privileges/]);
  await deleteWhenStopped("plain");
});

test("a bad --trace value fails the create before anything is made", async () => {
  const bad = await oci(["create", "--trace=xml", "--bundle", bundle, "bad"]);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('invalid --trace "xml": table or json');
  expect(existsSync(join(root, "bad"))).toBe(false);
});
