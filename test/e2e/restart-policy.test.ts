// `run --restart`: the monitor starts the container again per docker's policies, with its
// backoff; `stop` and `kill` end it for good; `ps`/`inspect` show the count and the policy.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkHostAroundEachTest, mydocker, TEST_ROOT } from "./helpers";

checkHostAroundEachTest();

const inspect = async (name: string, format: string) => (await mydocker(["inspect", "--format", format, name])).stdout.trim();

/** Polls until `pred` holds of `inspect --format` (an observable state, not a fixed sleep). */
async function waitForInspect(name: string, format: string, pred: (v: string) => boolean, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await inspect(name, format);
    if (pred(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out; last ${format} = ${v}`);
    await Bun.sleep(50);
  }
}

/** The container's record as its monitor last wrote it (read directly: faster than any command). */
const record = (id: string) => JSON.parse(readFileSync(join(TEST_ROOT, id, "state.json"), "utf8"));

/** Busy-reads the record until `pred` holds (windows of a few ms are caught this way). */
async function waitForRecord(id: string, pred: (s: any) => boolean, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    try {
      const s = record(id);
      if (pred(s)) return s;
    } catch {} // mid-rename
    if (Date.now() > deadline) throw new Error(`timed out waiting on the record of ${id}`);
    if (i % 200 === 199) await Bun.sleep(0);
  }
}

/** Freezes the monitor when its record is in `pred`'s state (re-checked once it is frozen), so that a window stays open. */
async function freezeMonitorWhen(id: string, pred: (s: any) => boolean): Promise<number> {
  for (;;) {
    const s = await waitForRecord(id, pred);
    process.kill(s.monitorPid, "SIGSTOP");
    let still = false;
    try {
      still = pred(record(id));
    } catch {}
    if (still) return s.monitorPid;
    process.kill(s.monitorPid, "SIGCONT"); // it moved on meanwhile: the next window
  }
}

const createdForRestart = (s: any) => s.status === "created" && s.restartCount >= 1;
const inBackoff = (s: any) => s.status === "exited" && s.restarting === true;

describe("restart policies", () => {
  test("on-failure:3 restarts exactly three times: four runs in the log, then it stays exited with its status", async () => {
    const r = await mydocker(["run", "-d", "--name", "rp1", "--restart", "on-failure:3", "sh", "-c", "echo run; exit 3"]);
    expect(r.code).toBe(0);
    // backoff 100 + 200 + 400 ms: done in well under the timeout
    await waitForInspect("rp1", "{{.RestartCount}} {{.State.Status}}", (v) => v === "3 exited");
    await Bun.sleep(1000); // a fourth restart would have come after 800 ms
    expect(await inspect("rp1", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}} {{json .HostConfig.RestartPolicy}}")).toBe(
      '3 exited 3 {"Name":"on-failure","MaximumRetryCount":3}',
    );
    expect((await mydocker(["logs", "rp1"])).stdout).toBe("run\nrun\nrun\nrun\n");
  });

  test("on-failure does not restart after exit 0", async () => {
    await mydocker(["run", "-d", "--name", "rp2", "--restart", "on-failure", "true"]);
    await waitForInspect("rp2", "{{.State.Status}}", (v) => v === "exited");
    await Bun.sleep(300); // the first restart would come after 100 ms
    expect(await inspect("rp2", "{{.RestartCount}} {{.State.Status}}")).toBe("0 exited");
  });

  test("always restarts after exit 0; ps shows it; stop ends it for good", async () => {
    await mydocker(["run", "-d", "--name", "rp3", "--restart", "always", "sh", "-c", "echo up; sleep 0.2"]);
    await waitForInspect("rp3", "{{.RestartCount}}", (v) => Number(v) >= 2);
    const stopped = await mydocker(["stop", "-t", "1", "rp3"]);
    expect(stopped.code).toBe(0);
    const count = await inspect("rp3", "{{.RestartCount}}");
    await Bun.sleep(1500); // longer than the backoff reached so far (at most 800 ms)
    expect(await inspect("rp3", "{{.RestartCount}} {{.State.Status}}")).toBe(`${count} exited`);
    expect((await mydocker(["ps", "-a", "--filter", "name=rp3", "--format", "{{.Status}}"])).stdout).toMatch(/^Exited \(\d+\) /);
  });

  test("between two runs the container shows as Restarting", async () => {
    // a long backoff to look at: 100 ms doubles at every quick exit, so watch for the status
    await mydocker(["run", "-d", "--name", "rp4", "--restart", "always", "sh", "-c", "exit 2"]);
    const seen = await (async () => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const s = (await mydocker(["ps", "-a", "--filter", "name=rp4", "--format", "{{.Status}}"])).stdout;
        if (s.startsWith("Restarting")) return s;
      }
      return "";
    })();
    expect(seen).toMatch(/^Restarting \(2\) /);
    // docker counts it as running: `ps` without -a lists it, and status=restarting finds it
    const listed = await (async () => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const r = (await mydocker(["ps", "--filter", "status=restarting", "--format", "{{.Names}} {{.State}}"])).stdout;
        if (r) return r;
      }
      return "";
    })();
    expect(listed).toBe("rp4 restarting\n");
    expect((await mydocker(["stop", "rp4"])).code).toBe(0);
  });

  test("kill (SIGKILL) of an on-failure container does not restart it", async () => {
    await mydocker(["run", "-d", "--name", "rp5", "--restart", "on-failure", "sleep", "100"]);
    expect((await mydocker(["kill", "rp5"])).code).toBe(0);
    await waitForInspect("rp5", "{{.State.Status}}", (v) => v === "exited");
    await Bun.sleep(400);
    expect(await inspect("rp5", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}")).toBe("0 exited 137");
  });

  test("bad policies and --rm with a policy exit 125 with one line and record nothing", async () => {
    for (const [args, message] of [
      [["--restart", "sometimes"], 'invalid --restart "sometimes"'],
      [["--restart", "on-failure:x"], "maximum retry count must be a non-negative integer"],
      [["--restart", "always:3"], "maximum retry count cannot be used with restart policy 'always'"],
      [["--restart", "always", "--rm"], "conflicting options: --restart and --rm"],
    ] as const) {
      const r = await mydocker(["run", "-d", ...args, "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect((await mydocker(["ps", "-aq"])).stdout).toBe("");
  });

  test("stop while the monitor starts it again (created, between two runs) stops it: it stays exited", async () => {
    const id = (await mydocker(["run", "-d", "--name", "rp6", "--restart", "always", "sh", "-c", "trap 'exit 0' TERM; sleep 0.1"])).stdout.trim();
    const monitor = await freezeMonitorWhen(id, createdForRestart);
    const stopping = mydocker(["stop", "-t", "2", "rp6"]);
    await Bun.sleep(300); // the stop has seen the "created" record by now
    process.kill(monitor, "SIGCONT");
    expect((await stopping).code).toBe(0);
    expect(await inspect("rp6", "{{.State.Status}}")).toBe("exited");
    await Bun.sleep(800);
    expect(await inspect("rp6", "{{.State.Status}} {{.State.Restarting}}")).toBe("exited false");
  });

  test("rm of a restarting container is refused (nothing removed); rm -f ends the restarts and removes everything", async () => {
    const id = (await mydocker(["run", "-d", "--name", "rp7", "--restart", "always", "sh", "-c", "exit 1"])).stdout.trim();
    const monitor = await freezeMonitorWhen(id, inBackoff);
    try {
      const refused = await mydocker(["rm", "rp7"]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain("you cannot remove a restarting container");
      expect(refused.stderr.trim().split("\n")).toHaveLength(1);
      expect(existsSync(join(TEST_ROOT, id))).toBe(true);
    } finally {
      process.kill(monitor, "SIGCONT");
    }
    expect((await mydocker(["rm", "-f", "rp7"])).code).toBe(0);
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
    await Bun.sleep(500); // a restart would have come by now (and left a layer, a mount, a cgroup: the host check)
    expect((await mydocker(["ps", "-aq"])).stdout).toBe("");
  });

  test("rm -f while the monitor starts it again leaves nothing behind", async () => {
    const id = (await mydocker(["run", "-d", "--name", "rp8", "--restart", "always", "sh", "-c", "sleep 0.1"])).stdout.trim();
    const monitor = await freezeMonitorWhen(id, createdForRestart);
    const removing = mydocker(["rm", "-f", "rp8"]);
    await Bun.sleep(300);
    process.kill(monitor, "SIGCONT");
    expect((await removing).code).toBe(0);
    expect(existsSync(join(TEST_ROOT, id))).toBe(false);
  });

  test("a monitor killed in the backoff: the next command shows the container exited with its last status, and start brings it back", async () => {
    const id = (await mydocker(["run", "-d", "--name", "rp9", "--restart", "always", "sh", "-c", "echo run; exit 5"])).stdout.trim();
    const monitor = await freezeMonitorWhen(id, inBackoff);
    process.kill(monitor, "SIGKILL");
    expect((await mydocker(["ps", "-a", "--filter", "name=rp9", "--format", "{{.Status}}"])).stdout).toMatch(/^Exited \(5\) /);
    expect(await inspect("rp9", "{{.State.Status}} {{.State.Restarting}} {{.State.Running}} {{.State.ExitCode}}")).toBe("exited false false 5");
    expect((await mydocker(["start", "rp9"])).code).toBe(0);
    await waitForInspect("rp9", "{{.RestartCount}}", (v) => Number(v) >= 1);
    expect((await mydocker(["stop", "rp9"])).code).toBe(0);
  });

  test("kill -s 15 (a number) ends the policy as kill -s TERM does: no restart", async () => {
    await mydocker(["run", "-d", "--name", "rp10", "--restart", "always", "sh", "-c", "trap 'exit 3' TERM; while :; do sleep 0.05; done"]);
    await waitForInspect("rp10", "{{.State.Status}}", (v) => v === "running");
    await Bun.sleep(200); // the trap is set
    expect((await mydocker(["kill", "-s", "15", "rp10"])).code).toBe(0);
    await waitForInspect("rp10", "{{.State.Status}}", (v) => v === "exited");
    await Bun.sleep(500); // the first restart would come after 100 ms
    expect(await inspect("rp10", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}")).toBe("0 exited 3");
  });

  test("kill of a restarting container succeeds and ends the policy", async () => {
    const id = (await mydocker(["run", "-d", "--name", "rp11", "--restart", "always", "sh", "-c", "exit 1"])).stdout.trim();
    await waitForRecord(id, inBackoff);
    expect((await mydocker(["kill", "rp11"])).code).toBe(0);
    const count = await inspect("rp11", "{{.RestartCount}}");
    await Bun.sleep(500);
    expect(await inspect("rp11", "{{.RestartCount}} {{.State.Status}} {{.State.Restarting}}")).toBe(`${count} exited false`);
  });

  test("inspect between two runs: Status restarting, Restarting and Running true (docker), Pid 0", async () => {
    await mydocker(["run", "-d", "--name", "rp12", "--restart", "always", "sh", "-c", "exit 2"]);
    const seen = await waitForInspect("rp12", "{{.State.Status}} {{.State.Running}} {{.State.Restarting}} {{.State.Pid}} {{.State.ExitCode}}", (v) => v.startsWith("restarting"));
    expect(seen).toBe("restarting true true 0 2");
    expect((await mydocker(["stop", "rp12"])).code).toBe(0);
  });

  test("foreground run --restart: returns with the first run's status; the container goes on restarting in the background", async () => {
    const r = await mydocker(["run", "--name", "rp13", "--restart", "on-failure:2", "sh", "-c", "echo run; exit 1"]);
    expect(r).toEqual({ code: 1, stdout: "run\n", stderr: "" });
    await waitForInspect("rp13", "{{.RestartCount}} {{.State.Status}}", (v) => v === "2 exited");
    await Bun.sleep(1000); // no third restart
    expect(await inspect("rp13", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}")).toBe("2 exited 1");
    expect((await mydocker(["logs", "rp13"])).stdout).toBe("run\nrun\nrun\n");
  });
});
