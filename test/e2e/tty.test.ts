// -t: a pseudo-terminal from the container's own devpts, driven through script(1) so that
// mydocker itself sits on a real terminal, as it does for a user.
import { expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, readlinkSync } from "node:fs";
import { setWindowSize } from "../../ffi/tty";
import { checkHostAroundEachTest, mydocker, MYDOCKER, mydockerProcesses, testEnv } from "./helpers";

checkHostAroundEachTest();

/** The shell's prompt in the container (busybox ash as root): it reads what is typed from now on. */
const PROMPT = /\/ # /;

/**
 * Runs `command` on a fresh 33x101 terminal, typing `keys` (strings), pausing (numbers), acting
 * (functions) or waiting until the output so far matches (a RegExp; at most 20 s, then the
 * test goes on and its expectations say what was missing). Typing before the shell is ready
 * would race the terminal's switch to the shell's line editor.
 */
async function onTerminal(command: string, keys: (string | number | RegExp | (() => void))[]) {
  const proc = Bun.spawn(["script", "-qec", `stty rows 33 cols 101; ${command}`, "/dev/null"], {
    stdin: "pipe",
    stdout: "pipe",
    env: { ...testEnv(), TERM: "dumb" },
  });
  let text = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of proc.stdout) text += decoder.decode(chunk, { stream: true });
  })();
  for (const k of keys) {
    if (typeof k === "number") await Bun.sleep(k);
    else if (typeof k === "function") k();
    else if (k instanceof RegExp) {
      const deadline = Date.now() + 20_000;
      while (!k.test(text) && Date.now() < deadline) await Bun.sleep(20);
    } else proc.stdin.write(k);
  }
  proc.stdin.end();
  const code = await proc.exited;
  await reading;
  return { code, output: text.replace(/\r/g, "") };
}

test("run -ti: tty is /dev/pts/0 of the container's devpts, the size follows ours, /dev/console is it", async () => {
  const r = await onTerminal(`${MYDOCKER} run --rm -ti /bin/sh`, [
    PROMPT,
    "tty; stty size; ls -l /dev/console | tr -s ' ' | cut -d' ' -f5,6; echo term=$TERM\n",
    300,
    "exit 7\n",
  ]);
  expect(r.output).toContain("/dev/pts/0\n33 101\n136, 0\nterm=xterm\n");
  expect(r.code).toBe(7);
});

test("run -ti: Ctrl-C interrupts the container's foreground process, not mydocker", async () => {
  const r = await onTerminal(`${MYDOCKER} run --rm -ti /bin/sh`, [
    PROMPT,
    "sleep 30\n",
    500,
    "\x03",
    300,
    "echo sleep-status=$?; echo still-here\n",
    300,
    "exit 4\n",
  ]);
  expect(r.output).toContain("sleep-status=130");
  expect(r.output).toContain("still-here");
  expect(r.code).toBe(4);
});

test("exec -ti gets a terminal of its own in a running container", async () => {
  const started = await mydocker(["run", "-d", "--name", "tty-exec", "sleep", "60"]);
  expect(started.code).toBe(0);
  const r = await onTerminal(`${MYDOCKER} exec -ti tty-exec sh`, [PROMPT, "tty; stty size\n", 300, "exit 3\n"]);
  expect(r.output).toContain("/dev/pts/0\n33 101\n");
  expect(r.code).toBe(3);
});

test("-t with a stdin that is not a terminal: a warning, and the command still runs", async () => {
  const r = await mydocker(["run", "--rm", "-ti", "sh", "-c", "tty; read x; echo got=$x"], { stdin: "abc\n" });
  expect(r.stderr).toContain("the input device is not a TTY");
  expect(r.stdout.replace(/\r/g, "")).toContain("/dev/pts/0\n");
  expect(r.stdout.replace(/\r/g, "")).toContain("got=abc");
  expect(r.code).toBe(0);
});

test("a window size change of our terminal reaches the container's (SIGWINCH)", async () => {
  const resize = () => {
    // the terminal script(1) gave mydocker: resizing it sends mydocker SIGWINCH
    const [pid] = mydockerProcesses().filter((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes("-ti"));
    const fd = openSync(readlinkSync(`/proc/${pid}/fd/0`), "r+");
    setWindowSize(fd, 50, 140);
    closeSync(fd);
  };
  const r = await onTerminal(`${MYDOCKER} run --rm -ti /bin/sh`, [PROMPT, resize, 300, "stty size\n", 300, "exit\n"]);
  expect(r.output).toContain("50 140\n");
});

test("run -t in the foreground: what its terminal showed is in `logs` afterwards (docker's json-file keeps it)", async () => {
  const r = await onTerminal(`${MYDOCKER} run -t --name tty-logged sh -c 'echo shown on the tty; exit 3'`, [300]);
  expect(r.output).toContain("shown on the tty\n");
  expect(r.code).toBe(3);
  const logs = await mydocker(["logs", "tty-logged"]);
  expect(logs.code).toBe(0);
  expect(logs.stdout.replace(/\r/g, "")).toBe("shown on the tty\n"); // a terminal ends lines with \r\n, as docker logs shows them
  expect(logs.stderr).toBe("");
  expect((await mydocker(["rm", "tty-logged"])).code).toBe(0);
});
