// `run --restart`: the monitor starts the container again per docker's policies, with its
// backoff; `stop` and `kill` end it for good; `ps`/`inspect` show the count and the policy.
import { describe, expect, test } from "bun:test";
import { checkHostAroundEachTest, mydocker } from "./helpers";

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
});
