// `attach`: to a detached container's output and input through its monitor. With a tty it is
// driven from a real terminal (tmux): type a command, see its output, detach with ctrl-p ctrl-q
// (the container runs on), attach again and end it (attach exits with its status).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, MYDOCKER, mydocker, TEST_DATA_ROOT, TEST_ROOT } from "./helpers";

checkHostAroundEachTest();

const SESSION = `mydocker-attach-${process.pid}`;
// a tmux server of our own (-S: its socket in a directory of ours), not the user's default one,
// and nothing of it left afterwards (tmux leaves its socket file behind when the server ends)
const SOCKET_DIR = mkdtempSync(join(tmpdir(), "mydocker-tmux-"));
const tmux = (...args: string[]) => Bun.spawnSync(["tmux", "-S", join(SOCKET_DIR, "socket"), ...args], { stdout: "pipe", stderr: "pipe" });
const screen = () => tmux("capture-pane", "-p", "-t", SESSION).stdout.toString();

/** the terminal tests drive tmux; the VM guest (make test-vm) has none */
const TMUX = Bun.which("tmux") !== null;
afterAll(() => {
  if (TMUX) tmux("kill-server");
  rmSync(SOCKET_DIR, { recursive: true, force: true });
});

/** `mydocker attach ARGS` in a fresh tmux window of 24 x 80; its status is printed when it ends. */
function attachInTmux(args: string[]): void {
  tmux("kill-session", "-t", SESSION);
  const command = `env MYDOCKER_ROOT=${TEST_ROOT} MYDOCKER_DATA_ROOT=${TEST_DATA_ROOT} ${MYDOCKER} attach ${args.join(" ")}; echo ATTACH-RC=$?; sleep 60`;
  const r = tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command);
  if (r.exitCode !== 0) throw new Error(`tmux: ${r.stderr}`);
}

async function waitForScreen(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = screen();
    if (pattern.test(s)) return s;
    if (Date.now() > deadline) throw new Error(`screen never matched ${pattern}:\n${s}`);
    await Bun.sleep(30);
  }
}

const inspect = async (name: string, format: string) => (await mydocker(["inspect", "--format", format, name])).stdout.trim();

describe.skipIf(!TMUX)(TMUX ? "attach with a tty" : "attach with a tty (skipped: tmux is not installed here)", () => {
  test("type a command and see its output; ctrl-p ctrl-q detaches and the container runs on; attached again, its exit ends attach with its status", async () => {
    expect((await mydocker(["run", "-d", "-t", "-i", "--name", "at1", "sh"])).code).toBe(0);
    attachInTmux(["at1"]);
    // no wait for attach to connect: keys typed before it reads wait in its terminal's input queue
    tmux("send-keys", "-t", SESSION, "echo hello-$((6*7))", "Enter");
    await waitForScreen(/^hello-42$/m);
    tmux("send-keys", "-t", SESSION, "C-p", "C-q");
    expect(await waitForScreen(/ATTACH-RC=0/)).toMatch(/^read escape sequence$/m);
    expect(await inspect("at1", "{{.State.Status}}")).toBe("running");
    // what was typed and printed is in its log too
    expect((await mydocker(["logs", "at1"])).stdout).toContain("hello-42");

    attachInTmux(["at1"]);
    tmux("send-keys", "-t", SESSION, "stty size; exit 5", "Enter");
    const s = await waitForScreen(/ATTACH-RC=5/);
    expect(s).toMatch(/^24 80$/m); // attach gave the container's tty our window size
    expect(await inspect("at1", "{{.State.Status}} {{.State.ExitCode}}")).toBe("exited 5");
  });

  test("--detach-keys chooses another sequence; a lone ctrl-p then reaches the container", async () => {
    await mydocker(["run", "-d", "-t", "-i", "--name", "at2", "sh"]);
    attachInTmux(["--detach-keys", "ctrl-x,y", "at2"]);
    tmux("send-keys", "-t", SESSION, "echo first", "Enter");
    await waitForScreen(/^first$/m); // attached, the terminal raw: ctrl-p now reaches attach as a byte
    tmux("send-keys", "-t", SESSION, "C-p", "C-q", "C-u"); // to the shell: ^P recalls a line, ^U clears it
    tmux("send-keys", "-t", SESSION, "echo still-$((1+1))", "Enter");
    await waitForScreen(/^still-2$/m);
    tmux("send-keys", "-t", SESSION, "C-x", "y");
    await waitForScreen(/ATTACH-RC=0/);
    expect(await inspect("at2", "{{.State.Status}}")).toBe("running");
  });
});

describe("attach without a tty", () => {
  test("-i: our stdin goes to the container's; its stdout and stderr stay apart", async () => {
    await mydocker(["run", "-d", "-i", "--name", "at3", "sh", "-c", "while read l; do echo out-$l; echo err-$l >&2; [ $l = bye ] && exit 3; done"]);
    const r = await mydocker(["attach", "at3"], { stdin: "one\nbye\n" });
    expect(r).toEqual({ code: 3, stdout: "out-one\nout-bye\n", stderr: "err-one\nerr-bye\n" });
  });

  test("without -i: the output from then on, and attach ends with the container's status", async () => {
    await mydocker(["run", "-d", "--name", "at5", "sh", "-c", "sleep 0.5; echo done; exit 4"]);
    expect(await mydocker(["attach", "at5"])).toEqual({ code: 4, stdout: "done\n", stderr: "" });
  });

  test("with a restart policy attach ends at the container's exit, with that run's status (docker), while it goes on restarting", async () => {
    await mydocker(["run", "-d", "--name", "at6", "--restart", "always", "sh", "-c", "sleep 0.5; echo done; exit 4"]);
    expect(await mydocker(["attach", "at6"], { timeoutMs: 8_000 })).toEqual({ code: 4, stdout: "done\n", stderr: "" });
    const deadline = Date.now() + 5_000;
    while (Number(await inspect("at6", "{{.RestartCount}}")) < 1 && Date.now() < deadline) await Bun.sleep(50);
    expect(Number(await inspect("at6", "{{.RestartCount}}"))).toBeGreaterThanOrEqual(1);
    expect((await mydocker(["stop", "at6"])).code).toBe(0);
  });

  test("a stopped container, a bad --detach-keys: one line each", async () => {
    await mydocker(["create", "--name", "at4", "true"]);
    const stopped = await mydocker(["attach", "at4"]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain("You cannot attach to a stopped container, start it first");
    const bad = await mydocker(["attach", "--detach-keys", "ctrl-", "at4"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });
});
