// Fault injection: a runtime process killed at each named step of a start (MYDOCKER_FAULT, see
// src/fault.ts and src/init/protocol.ts), at random moments, and commands racing on one name.
// After every case the host must be as before (no mount, cgroup, process of ours, rootfs change)
// and every record readable; a start that did not reach execve is a start failure (125, one line).
import { describe, expect, test } from "bun:test";
import { checkHostAroundEachTest, MYDOCKER, mydocker, testEnv } from "../e2e/helpers";

checkHostAroundEachTest(async () => {
  // every record left by a case parses and is removable (the check above ran rm -f on them)
  expect((await mydocker(["ps", "-aq"])).stdout).toBe("");
});

const inspect = async (name: string) => JSON.parse((await mydocker(["inspect", name])).stdout)[0];

describe("the init killed before it runs the command: 125, one line, and the record says it never started", () => {
  for (const step of ["start", "after-pivot", "before-exec"]) {
    test(`init:${step}`, async () => {
      const r = await mydocker(["run", "--name", `f-${step}`, "echo", "never"], { env: { MYDOCKER_FAULT: `init:${step}` } });
      expect(r.code).toBe(125);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toEqual(["mydocker: error: init: died before it ran the command (killed?)"]);
      const s = await inspect(`f-${step}`);
      expect(s.State).toMatchObject({ Status: "exited", ExitCode: 125, Running: false });
      expect(s.State.StartedAt ?? "").toMatch(/^(0001-01-01T00:00:00Z|)$/);
    });
  }

  test("exec: init:before-exec of the exec'd process fails the exec alone; the container runs on", async () => {
    expect((await mydocker(["run", "-d", "--name", "f-exec", "sleep", "30"])).code).toBe(0);
    const r = await mydocker(["exec", "f-exec", "echo", "never"], { env: { MYDOCKER_FAULT: "init:before-exec" } });
    expect(r.code).toBe(125);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("init: died before it ran the command");
    expect((await mydocker(["exec", "f-exec", "echo", "still"])).stdout).toBe("still\n");
  });
});

describe("the supervisor killed", () => {
  test("run -d: the monitor dies before it reports: 125, and the container it started is stopped, not left running", async () => {
    const r = await mydocker(["run", "-d", "--name", "f-mon", "sleep", "30"], { env: { MYDOCKER_FAULT: "supervise:after-start" } });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("the container's monitor died before it reported; the container was stopped");
    expect((await inspect("f-mon")).State.Running).toBe(false);
  });

  test("foreground run killed after the start: the next command finds the orphan and ends it", async () => {
    // (not through a pipe: the orphaned command would hold it open)
    const proc = Bun.spawn([MYDOCKER, "run", "--name", "f-fg", "sleep", "30"], { stdout: "ignore", stderr: "ignore", env: { ...testEnv(), MYDOCKER_FAULT: "supervise:after-start" } });
    expect(await proc.exited).toBe(137); // SIGKILL of mydocker itself
    const ps = await mydocker(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    expect(ps.code).toBe(0);
    expect((await inspect("f-fg")).State.Running).toBe(false);
  });

  test("run killed right after it reserved the name: the next command shows the container as exited", async () => {
    const r = await mydocker(["run", "--name", "f-rec", "echo", "never"], { env: { MYDOCKER_FAULT: "run:after-record" } });
    expect(r.code).toBe(137);
    expect((await inspect("f-rec")).State.Running).toBe(false);
    expect((await mydocker(["run", "--name", "f-rec", "true"])).stderr).toContain('name "f-rec" is already in use');
  });
});

describe("random moments and races", () => {
  test("run killed (SIGKILL) at 20 moments of its start: nothing is left once the next command ran", async () => {
    for (let i = 0; i < 20; i++) {
      const proc = Bun.spawn([MYDOCKER, "run", "--rm", "sleep", "30"], { stdout: "ignore", stderr: "ignore", env: testEnv() });
      await Bun.sleep(i * 3);
      proc.kill("SIGKILL");
      await proc.exited;
    }
    const left = (await mydocker(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
    if (left.length) expect((await mydocker(["rm", "-f", ...left])).code).toBe(0);
  }, 60_000);

  test("10 concurrent `run -d --name same`: exactly one wins, the others fail with one line", async () => {
    const runs = await Promise.all(Array.from({ length: 10 }, () => mydocker(["run", "-d", "--name", "same", "sleep", "30"])));
    expect(runs.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of runs.filter((r) => r.code !== 0)) {
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining('the container name "same" is already in use')]);
    }
  }, 60_000);
});
