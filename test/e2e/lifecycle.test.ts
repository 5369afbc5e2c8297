// Detached containers and their lifecycle: run -d, ps, logs, exec, stop, kill, rm, inspect, wait,
// top, pause/unpause, rename — real containers, checked from outside, nothing left behind.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkHostAroundEachTest, containerCgroupDir, mydocker, mydockerProcesses, TEST_ROOT } from "./helpers";

checkHostAroundEachTest();

const state = (id: string) => JSON.parse(readFileSync(join(TEST_ROOT, id, "state.json"), "utf8"));
const inspect = async (ref: string) => JSON.parse((await mydocker(["inspect", ref])).stdout)[0];

async function runDetached(...args: string[]): Promise<string> {
  const r = await mydocker(["run", "-d", ...args]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
  return r.stdout.trim();
}

describe("detached containers", () => {
  test("run -d, ps, logs -f, exec, stop within the timeout, rm: end to end", async () => {
    const id = await runDetached("--name", "web", "sh", "-c", "trap 'echo bye; exit 0' TERM; echo hello; echo oops >&2; while :; do sleep 0.1; done");
    const ps = await mydocker(["ps"]);
    expect(ps.stdout.split("\n")[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(ps.stdout).toMatch(new RegExp(`^${id.slice(0, 12)}\\s.*\\sUp .*\\sweb$`, "m"));

    // stdout and stderr are both in the log, in order
    await Bun.sleep(200);
    const logs = await mydocker(["logs", "web"]);
    expect(logs.stdout).toBe("hello\n");
    expect(logs.stderr).toBe("oops\n");
    expect((await mydocker(["logs", "-t", "web"])).stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z hello\n$/);

    // exec: same pid, mount, net, uts, ipc namespaces as the container's PID 1, and its cgroup
    const pid = (await inspect("web")).State.Pid;
    const ex = await mydocker(["exec", "web", "sh", "-c", "for n in pid mnt net uts ipc; do readlink /proc/self/ns/$n; done; echo $$; cat /etc/hostname 2>/dev/null; hostname"]);
    expect(ex.code).toBe(0);
    const lines = ex.stdout.trim().split("\n");
    for (const [i, ns] of ["pid", "mnt", "net", "uts", "ipc"].entries()) expect(lines[i]).toBe(readlinkSync(`/proc/${pid}/ns/${ns}`));
    expect(Number(lines[5])).toBeGreaterThan(1); // a new process inside the container's PID namespace
    expect(lines.at(-1)).toBe(id.slice(0, 12));

    const execInCgroup = await mydocker(["exec", "web", "sh", "-c", "cat /proc/self/cgroup; ls /proc | grep -c '^[0-9]'"]);
    expect(execInCgroup.stdout.split("\n").filter((l) => /^\d+:/.test(l)).every((l) => l.endsWith(":/"))).toBe(true);

    // logs -f follows until the container ends; stop -t 5 ends it with SIGTERM well before 5 s
    const follow = Bun.spawn([process.env.MYDOCKER_BIN ?? join(import.meta.dir, "../../mydocker"), "logs", "-f", "web"], {
      stdout: "pipe",
      env: { PATH: "/usr/bin:/bin", MYDOCKER_ROOT: TEST_ROOT },
    });
    const t0 = performance.now();
    const stop = await mydocker(["stop", "-t", "5", "web"]);
    expect(stop.code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(await new Response(follow.stdout).text()).toBe("hello\nbye\n");
    expect(await follow.exited).toBe(0);

    const after = await mydocker(["ps", "-a"]);
    expect(after.stdout).toMatch(/Exited \(0\) .* ago\s+web$/m);
    expect((await mydocker(["rm", "web"])).code).toBe(0);
    expect((await mydocker(["ps", "-a", "-q"])).stdout).toBe("");
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
  });

  test("exit codes through wait, ps -a and inspect", async () => {
    await runDetached("--name", "three", "sh", "-c", "sleep 0.2; exit 3");
    const w = await mydocker(["wait", "three"]);
    expect(w.stdout).toBe("3\n");
    expect((await mydocker(["ps", "-a"])).stdout).toMatch(/Exited \(3\) .*three$/m);
    const info = await inspect("three");
    expect(info.State).toMatchObject({ Status: "exited", Running: false, ExitCode: 3, OOMKilled: false });
  });

  test("a detached OOM kill is recorded", async () => {
    await runDetached("--name", "oom", "-m", "32m", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1");
    expect((await mydocker(["wait", "oom"])).stdout).toBe("137\n");
    expect((await inspect("oom")).State.OOMKilled).toBe(true);
  });

  test("--rm removes the container when it exits, detached or not", async () => {
    // long enough to be listed on a slow machine too (the qemu guest of `make test-vm` emulates
    // its CPUs: a `mydocker ps` there takes ~0.4 s)
    const id = await runDetached("--rm", "sh", "-c", "sleep 2");
    expect((await mydocker(["ps", "-q"])).stdout.trim()).toBe(id.slice(0, 12));
    for (let i = 0; i < 500 && existsSync(join(TEST_ROOT, id)); i++) await Bun.sleep(20);
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
    const fg = await mydocker(["run", "--rm", "--name", "fg", "true"]);
    expect(fg.code).toBe(0);
    expect((await mydocker(["ps", "-aq"])).stdout).toBe("");
  });

  test("a foreground run is a container too: listed while it runs, exited after", async () => {
    const r = await mydocker(["run", "--name", "fg", "sh", "-c", "exit 5"]);
    expect(r.code).toBe(5);
    expect((await mydocker(["ps", "-a"])).stdout).toMatch(/Exited \(5\) .*fg$/m);
  });

  test("logs works after a foreground run (docker keeps its output too)", async () => {
    const r = await mydocker(["run", "--name", "fg2", "sh", "-c", "echo out; echo err >&2; exit 2"]);
    expect(r).toEqual({ code: 2, stdout: "out\n", stderr: "err\n" });
    expect(await mydocker(["logs", "fg2"])).toEqual({ code: 0, stdout: "out\n", stderr: "err\n" });
  });

  test("stop sends SIGKILL after the timeout to a PID 1 that ignores SIGTERM", async () => {
    await runDetached("--name", "stubborn", "sleep", "60");
    const t0 = performance.now();
    expect((await mydocker(["stop", "-t", "1", "stubborn"])).stdout).toBe("stubborn\n");
    const took = performance.now() - t0;
    expect(took).toBeGreaterThan(900);
    expect(took).toBeLessThan(5000);
    expect((await mydocker(["wait", "stubborn"])).stdout).toBe("137\n");
  });

  test("kill -s sends the signal; kill of a stopped container is an error", async () => {
    await runDetached("--name", "k", "sh", "-c", "trap 'exit 42' USR1; echo ready; while :; do sleep 0.1; done");
    // PID 1 ignores a signal it has no handler for: wait until the trap is set
    for (let i = 0; i < 200 && (await mydocker(["logs", "k"])).stdout !== "ready\n"; i++) await Bun.sleep(25);
    expect((await mydocker(["kill", "-s", "USR1", "k"])).code).toBe(0);
    expect((await mydocker(["wait", "k"])).stdout).toBe("42\n");
    const bad = await mydocker(["kill", "-s", "99", "k"]);
    expect(bad.stderr).toMatch(/invalid signal "99"/);
    const again = await mydocker(["kill", "k"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/container k is not running/);
  });

  test("rm refuses a running container without -f; rm -f kills and removes it", async () => {
    const id = await runDetached("--name", "busy", "sleep", "60");
    const refused = await mydocker(["rm", "busy"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split("\n")).toEqual([expect.stringMatching(/cannot remove container busy: it is running/)]);
    expect(existsSync(join(TEST_ROOT, id))).toBe(true);
    expect((await mydocker(["rm", "-f", "busy"])).code).toBe(0);
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
  });

  test("top lists the cgroup's processes; pause freezes them, unpause thaws", async () => {
    await runDetached("--name", "p", "sh", "-c", "while :; do sleep 0.1; done");
    const top = await mydocker(["top", "p"]);
    expect(top.stdout.split("\n")[0]).toMatch(/^UID\s+PID\s+PPID\s+CMD$/);
    expect(top.stdout).toContain("sh -c while :; do sleep 0.1; done");
    expect((await mydocker(["pause", "p"])).code).toBe(0);
    expect((await mydocker(["ps"])).stdout).toMatch(/\(Paused\)\s+p$/m);
    const v1 = !existsSync("/sys/fs/cgroup/cgroup.controllers");
    const shortId = (await inspect("p")).Id.slice(0, 12);
    const frozen = v1 ? readFileSync(`${containerCgroupDir(shortId, "freezer")}/freezer.state`, "utf8") : readFileSync(`${containerCgroupDir(shortId, "pids")}/cgroup.events`, "utf8");
    expect(frozen).toMatch(v1 ? /FROZEN/ : /frozen 1/);
    const refused = await mydocker(["exec", "p", "true"]);
    expect(refused.stderr).toMatch(/paused/);
    expect((await mydocker(["unpause", "p"])).code).toBe(0);
    expect((await mydocker(["ps"])).stdout).toMatch(/Up .*\s+p$/m);
    expect((await mydocker(["exec", "p", "true"])).code).toBe(0);
  });

  test("rename, and every command takes a name, the full id or a unique prefix", async () => {
    const id = await runDetached("--name", "before", "sleep", "60");
    expect((await mydocker(["rename", "before", "after"])).code).toBe(0);
    expect((await inspect(id)).Name).toBe("/after"); // docker's leading slash
    expect((await inspect(id.slice(0, 5))).Id).toBe(id);
    expect((await inspect("after")).Id).toBe(id);
  });

  test("logs -f gives every line of a container that writes a lot and exits", async () => {
    await runDetached("--name", "chatty", "sh", "-c", "sleep 0.3; seq 1 200000");
    const follow = await mydocker(["logs", "-f", "chatty"], { timeoutMs: 60_000 });
    const lines = follow.stdout.split("\n");
    expect(lines.length).toBe(200001);
    expect(lines[199999]).toBe("200000");
  }, 60_000);

  test("logs --tail N shows the last N lines", async () => {
    await runDetached("--name", "lines", "sh", "-c", "for i in 1 2 3 4 5; do echo $i; done");
    await mydocker(["wait", "lines"]);
    expect((await mydocker(["logs", "--tail", "2", "lines"])).stdout).toBe("4\n5\n");
  });
});

describe("errors", () => {
  test("an unknown name: one line, exit 1, for every command", async () => {
    for (const cmd of ["logs", "exec", "stop", "kill", "rm", "inspect", "wait", "top", "pause", "unpause", "rename"]) {
      const r = await mydocker([cmd, "nosuch", ...(cmd === "exec" ? ["true"] : cmd === "rename" ? ["other"] : [])]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining(cmd === "inspect" ? "No such object: nosuch" : "No such container: nosuch")]); // docker's words
    }
  });

  test("exec into a stopped container is a clear error", async () => {
    await mydocker(["run", "--name", "done", "true"]);
    const r = await mydocker(["exec", "done", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/container done is not running/);
  });

  test("-d with -t runs (its terminal kept by its monitor, for attach); a name already in use is refused", async () => {
    const r = await mydocker(["run", "-d", "-t", "--name", "dt", "sh"]);
    expect(r.code).toBe(0);
    expect((await mydocker(["inspect", "--format", "{{.State.Status}}", "dt"])).stdout).toBe("running\n");
    await runDetached("--name", "taken", "sleep", "60");
    const dup = await mydocker(["run", "-d", "--name", "taken", "sleep", "60"]);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toMatch(/name "taken" is already in use/);
  });

  test("exec: a missing command is 127, its own exit code passes through", async () => {
    await runDetached("--name", "e", "sleep", "60");
    expect((await mydocker(["exec", "e", "nosuch"])).code).toBe(127);
    expect((await mydocker(["exec", "e", "sh", "-c", "exit 9"])).code).toBe(9);
    expect((await mydocker(["exec", "-e", "X=1", "-w", "/etc", "e", "sh", "-c", "echo $X $(pwd)"])).stdout).toBe("1 /etc\n");
    expect((await mydocker(["exec", "-i", "e", "cat"], { stdin: "piped\n" })).stdout).toBe("piped\n");
  });
});

describe("faults", () => {
  test("killing the monitor with SIGKILL keeps the container and its state; stop and rm still clean up", async () => {
    const id = await runDetached("--name", "orphan", "sleep", "60");
    const { monitorPid, pid } = state(id);
    process.kill(monitorPid, "SIGKILL");
    for (let i = 0; i < 100 && mydockerProcesses().includes(monitorPid); i++) await Bun.sleep(20);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("sleep\u000060\u0000"); // still running
    expect((await mydocker(["ps"])).stdout).toMatch(/Up .*orphan$/m);
    expect((await mydocker(["stop", "-t", "1", "orphan"])).code).toBe(0);
    // gone, or a zombie waiting for the host's init to reap it (its parent, the monitor, died)
    expect(existsSync(`/proc/${pid}`) ? readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]![0] : "gone").toMatch(/gone|Z/);
    expect((await mydocker(["ps", "-a"])).stdout).toMatch(/Exited \(unknown\) .*orphan$/m);
    expect((await mydocker(["rm", "orphan"])).code).toBe(0);
  });

  test("state left by another boot shows as exited, and its pid is never signalled", async () => {
    const id = await runDetached("--name", "stale", "sh", "-c", "exit 0");
    await mydocker(["wait", "stale"]);
    // pretend a reboot: the record says running, with a pid that now belongs to someone else
    const bystander = Bun.spawn(["sleep", "30"]);
    const s = state(id);
    writeFileSync(join(TEST_ROOT, id, "state.json"), JSON.stringify({ ...s, status: "running", pid: bystander.pid, pidStartTime: 1, bootId: "another-boot" }));
    expect((await mydocker(["ps", "-a"])).stdout).toMatch(/Exited \(unknown\) .*stale$/m);
    writeFileSync(join(TEST_ROOT, id, "state.json"), JSON.stringify({ ...s, status: "running", pid: bystander.pid, pidStartTime: 1 }));
    await mydocker(["kill", "stale"]);
    await mydocker(["stop", "-t", "0", "stale"]);
    expect(bystander.killed).toBe(false);
    expect(bystander.exitCode).toBeNull();
    bystander.kill();
    await bystander.exited;
  });

  test("20 containers started at once get unique names and ids, and all are cleaned up", async () => {
    // 40 Bun starts at once: ~35 s in the emulated CPUs of `make test-vm`, so no 30 s default
    const runs = await Promise.all(Array.from({ length: 20 }, () => mydocker(["run", "-d", "sleep", "60"], { timeoutMs: 100_000 })));
    expect(runs.map((r) => r.code)).toEqual(Array(20).fill(0));
    const ids = runs.map((r) => r.stdout.trim());
    expect(new Set(ids).size).toBe(20);
    const names = (await mydocker(["ps", "--format", "json"])).stdout.trim().split("\n").map((l) => JSON.parse(l).Names);
    expect(names).toHaveLength(20);
    expect(new Set(names).size).toBe(20);
    const rm = await mydocker(["rm", "-f", ...ids]);
    expect(rm.code).toBe(0);
    expect((await mydocker(["ps", "-aq"])).stdout).toBe("");
  }, 150_000);

  test("two concurrent run --name x: exactly one wins", async () => {
    const [a, b] = await Promise.all([mydocker(["run", "-d", "--name", "x", "sleep", "60"]), mydocker(["run", "-d", "--name", "x", "sleep", "60"])]);
    expect([a.code, b.code].sort()).toEqual([0, 125]);
    expect((a.code ? a : b).stderr).toMatch(/already in use/);
  });
});

test("a state directory of its own per container, with the OCI config it runs", async () => {
  const id = await runDetached("--name", "files", "sleep", "60");
  const dir = join(TEST_ROOT, id);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  expect(config.process.args).toEqual(["sleep", "60"]);
  expect(config.linux.namespaces.map((n: { type: string }) => n.type)).toContain("pid");
  expect(state(id)).toMatchObject({ id, name: "files", status: "running", detached: true });
  expect(state(id).pidStartTime).toBeGreaterThan(0);
});
