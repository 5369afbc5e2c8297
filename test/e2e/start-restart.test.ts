// `start` and `restart`: a created or exited container runs again with its recorded config, its
// writable layer kept and its log appended to; `start -a` is attached and exits with its status.
import { describe, expect, test } from "bun:test";
import { checkHostAroundEachTest, mydocker } from "./helpers";

checkHostAroundEachTest();

const inspect = async (name: string, format: string) => (await mydocker(["inspect", "--format", format, name])).stdout.trim();

async function waitForStatus(name: string, status: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await inspect(name, "{{.State.Status}}")) !== status) {
    if (Date.now() > deadline) throw new Error(`${name} never became ${status}`);
    await Bun.sleep(30);
  }
}

describe("start", () => {
  test("a created container starts detached (its name printed); started again after it exited, the writable layer and the log are kept", async () => {
    const created = await mydocker(["create", "--name", "st1", "sh", "-c", "echo x >> /count; wc -l < /count"]);
    expect(created.code).toBe(0);
    const first = await mydocker(["start", "st1"]);
    expect(first).toEqual({ code: 0, stdout: "st1\n", stderr: "" });
    await waitForStatus("st1", "exited");
    expect((await mydocker(["start", "st1"])).stdout).toBe("st1\n");
    await waitForStatus("st1", "exited");
    // the second run saw the first run's file: one layer, two lines; the log has both runs
    expect((await mydocker(["logs", "st1"])).stdout).toBe("1\n2\n");
  });

  test("start -a is attached to the output and exits with the container's status", async () => {
    await mydocker(["create", "--name", "st2", "sh", "-c", "echo out; echo err >&2; exit 7"]);
    const r = await mydocker(["start", "-a", "st2"]);
    expect(r).toEqual({ code: 7, stdout: "out\n", stderr: "err\n" });
    expect(await inspect("st2", "{{.State.Status}} {{.State.ExitCode}}")).toBe("exited 7");
    // and again, from exited
    expect((await mydocker(["start", "-a", "st2"])).code).toBe(7);
  });

  test("logs works after start -a (docker keeps every container's output), both runs in order", async () => {
    await mydocker(["create", "--name", "st5", "sh", "-c", "echo out; echo err >&2"]);
    expect((await mydocker(["start", "-a", "st5"])).code).toBe(0);
    expect((await mydocker(["start", "-a", "st5"])).code).toBe(0);
    const logs = await mydocker(["logs", "st5"]);
    expect(logs).toEqual({ code: 0, stdout: "out\nout\n", stderr: "err\nerr\n" });
  });

  test("start -a -i passes our stdin to it", async () => {
    await mydocker(["create", "-i", "--name", "st3", "sh", "-c", "read l; echo got-$l"]);
    expect(await mydocker(["start", "-a", "-i", "st3"], { stdin: "hello\n" })).toEqual({ code: 0, stdout: "got-hello\n", stderr: "" });
  });

  test("starting a running container does nothing but print its name; a missing one fails with rc 1", async () => {
    await mydocker(["run", "-d", "--name", "st4", "sleep", "100"]);
    const pid = await inspect("st4", "{{.State.Pid}}");
    expect((await mydocker(["start", "st4"])).stdout).toBe("st4\n");
    expect(await inspect("st4", "{{.State.Pid}}")).toBe(pid);
    const missing = await mydocker(["start", "nosuch-st"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("No such container: nosuch-st");
    const many = await mydocker(["start", "-a", "st4", "nosuch-st"]);
    expect(many.code).toBe(125);
  });
});

describe("restart", () => {
  test("a running container is stopped and runs again: a new PID 1, the same layer, one log", async () => {
    await mydocker(["run", "-d", "--name", "rs1", "sh", "-c", "echo started; trap 'exit 0' TERM; while :; do sleep 0.05; done"]);
    const before = await inspect("rs1", "{{.State.Pid}}");
    const r = await mydocker(["restart", "-t", "5", "rs1"]);
    expect(r).toEqual({ code: 0, stdout: "rs1\n", stderr: "" });
    expect(await inspect("rs1", "{{.State.Status}}")).toBe("running");
    expect(await inspect("rs1", "{{.State.Pid}}")).not.toBe(before);
    // the first run's line is kept; the second run's comes once it runs
    const deadline = Date.now() + 5000;
    let logs = "";
    while (Date.now() < deadline && (logs = (await mydocker(["logs", "rs1"])).stdout) !== "started\nstarted\n") await Bun.sleep(30);
    expect(logs).toBe("started\nstarted\n");
  });

  test("an exited container is started: it runs again (a second line in its log, a later StartedAt, its new status)", async () => {
    // the first run leaves /seen in its layer, so the second exits 6: only a run that happened records that
    await mydocker(["run", "-d", "--name", "rs2", "sh", "-c", "echo ran; [ -e /seen ] && exit 6; touch /seen"]);
    await waitForStatus("rs2", "exited");
    expect(await inspect("rs2", "{{.State.ExitCode}}")).toBe("0");
    const firstStart = await inspect("rs2", "{{.State.StartedAt}}");
    expect((await mydocker(["restart", "rs2"])).code).toBe(0);
    await waitForStatus("rs2", "exited");
    expect(await inspect("rs2", "{{.State.ExitCode}}")).toBe("6");
    expect(Date.parse(await inspect("rs2", "{{.State.StartedAt}}"))).toBeGreaterThan(Date.parse(firstStart));
    expect((await mydocker(["logs", "rs2"])).stdout).toBe("ran\nran\n");
  });
});
