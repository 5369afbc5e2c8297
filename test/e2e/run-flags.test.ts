// docker's `run` flags beyond resources and security, on the compiled binary: --entrypoint,
// --env-file, -l/--label(-file), --cidfile, --stop-signal/--stop-timeout, --init, --pull,
// --platform, -a, --sig-proxy; `run IMAGE` with no such image; and `exec -d`, `exec --env-file`.
// Usage errors exit 125 with one line and leave nothing behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, mydocker, ROOTFS, startContainer } from "./helpers";

checkHostAroundEachTest();

const ARCH = ({ x64: "amd64", arm64: "arm64" } as Record<string, string>)[process.arch] ?? process.arch;
const OTHER_ARCH = ARCH === "amd64" ? "arm64" : "amd64";
/** an image of the default rootfs with ENTRYPOINT ["/bin/echo", "ep"] and CMD ["default"] */
const EP_IMAGE = "runflags-ep:1";

let scratch: string;
const file = (name: string, text: string) => {
  const p = join(scratch, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "mydocker-runflags-"));
  const r = await mydocker(["import", "-c", 'ENTRYPOINT ["/bin/echo", "ep"]', "-c", 'CMD ["default"]', ROOTFS, EP_IMAGE]);
  if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
});

afterAll(async () => {
  await mydocker(["rmi", EP_IMAGE]);
  rmSync(scratch, { recursive: true, force: true });
});

/** exit code, stdout and the single line of stderr of a refused command; nothing may be recorded */
async function refused(args: string[], code = 125): Promise<string> {
  const recorded = (await mydocker(["ps", "-aq"])).stdout;
  const r = await mydocker(args);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(r.code).toBe(code);
  expect((await mydocker(["ps", "-aq"])).stdout).toBe(recorded);
  return lines[0]!;
}

describe("bad input: exit 125, one line, nothing recorded", () => {
  const cases: [what: string, args: () => string[], message: RegExp][] = [
    ["--pull always (nothing to pull from)", () => ["run", "--pull", "always", "echo", "hi"], /--pull always: there is no registry to pull from; use "mydocker load" or "mydocker import"$/],
    ["--pull with an unknown policy", () => ["run", "--pull", "sometimes", "echo"], /invalid pull option: 'sometimes': must be one of "always", "missing" or "never"$/],
    ["--platform of another architecture (plain rootfs)", () => ["run", "--platform", `linux/${OTHER_ARCH}`, "echo"], new RegExp(`does not match the specified platform: wanted linux/${OTHER_ARCH}, actual: linux/${ARCH}$`)],
    ["--platform of another architecture (image)", () => ["run", "--platform", `linux/${OTHER_ARCH}`, EP_IMAGE], new RegExp(`image with reference ${EP_IMAGE} was found but does not match the specified platform: wanted linux/${OTHER_ARCH}, actual: linux/${ARCH}$`)],
    ["--platform of another OS", () => ["run", "--platform", "windows", EP_IMAGE], /wanted windows, actual: linux\//],
    ["a malformed --platform", () => ["run", "--platform", "a/b/c/d", "echo"], /invalid --platform "a\/b\/c\/d": expected OS\[\/ARCH\[\/VARIANT\]\]$/],
    ["-a with an unknown stream", () => ["run", "-a", "stdfoo", "echo"], /invalid argument "stdfoo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR$/],
    ["-a with -d", () => ["run", "-d", "-a", "stdout", "echo"], /conflicting options: -a and -d$/],
    ["--stop-signal that is no signal", () => ["run", "--stop-signal", "SIGNOPE", "echo"], /invalid --stop-signal "SIGNOPE": no such signal$/],
    ["--stop-timeout that is no number", () => ["run", "--stop-timeout", "soon", "echo"], /invalid --stop-timeout "soon": expected whole seconds/],
    ["a missing --env-file", () => ["run", "--env-file", "/no/such/env", "echo"], /invalid --env-file \/no\/such\/env: no such file$/],
    ["an --env-file line without a name", () => ["run", "--env-file", file("noname.env", "A=1\n=oops\n"), "echo"], /invalid --env-file .*noname.env: line 2: no variable name$/],
    ["an --env-file name with a space", () => ["run", "--env-file", file("space.env", "MY VAR=1\n"), "echo"], /line 1: variable "MY VAR" contains whitespace$/],
    ["a missing --label-file", () => ["run", "--label-file", "/no/such/labels", "echo"], /invalid --label-file \/no\/such\/labels: no such file$/],
    ["a label without a name", () => ["run", "-l", "=x", "echo"], /invalid label "=x": empty name$/],
    ["--cidfile that exists", () => ["run", "--cidfile", file("taken.cid", "old"), "echo"], /container ID file found, make sure the other container isn't running or delete .*taken.cid$/],
    ["--cidfile in a missing directory", () => ["run", "--cidfile", "/no/such/dir/cid", "echo"], /failed to create the container ID file \/no\/such\/dir\/cid: ENOENT$/],
    ["--entrypoint \"\" on an image without a command", () => ["run", "--entrypoint", "", EP_IMAGE], /no command: image runflags-ep:1 has no Cmd or Entrypoint/],
    ["no image and no command of the rootfs", () => ["run", "alpine", "echo", "hi"], /^mydocker: error: Unable to find image 'alpine:latest' locally \(there is no registry to pull from\): load it with "mydocker load -i FILE" or "mydocker import TARBALL alpine:latest"$/],
    ["no image, with a tag", () => ["run", "-ti", "nginx:1.25"], /Unable to find image 'nginx:1.25' locally/],
    ["no image, --pull never", () => ["run", "--pull", "never", "alpine"], /^mydocker: error: Unable to find image 'alpine:latest' locally: load it with/],
    ["exec -d with -t", () => ["exec", "-d", "-t", "whatever", "true"], /-d and -t cannot be combined/],
  ];
  for (const [what, args, message] of cases) {
    test(what, async () => {
      expect(await refused(args())).toMatch(message);
    });
  }

  test("the existing --cidfile is left as it was", async () => {
    const cid = file("kept.cid", "someone else's\n");
    await refused(["run", "--cidfile", cid, "echo"]);
    expect(readFileSync(cid, "utf8")).toBe("someone else's\n");
  });
});

describe("image-not-found keeps the plain rootfs working", () => {
  test("a command of the rootfs runs (no image by that name)", async () => {
    expect(await mydocker(["run", "echo", "hi"])).toEqual({ code: 0, stdout: "hi\n", stderr: "" });
  });

  test("a path is always a command: /bin/sh -c", async () => {
    expect(await mydocker(["run", "/bin/sh", "-c", "echo from-sh"])).toEqual({ code: 0, stdout: "from-sh\n", stderr: "" });
  });

  test("-t /bin/sh on the rootfs still gets its terminal", async () => {
    const r = await mydocker(["run", "-t", "/bin/sh", "-c", "tty"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("/dev/pts/0\r\n");
  });

  test("a word that is no valid reference is left to the init: executable file not found (127)", async () => {
    const r = await mydocker(["run", "No-Such-Command"]);
    expect(r.code).toBe(127);
    expect(r.stderr.trim()).toBe("mydocker: error: exec No-Such-Command: executable file not found in $PATH");
  });
});

describe("--env-file", () => {
  test("docker's format: comments, blank lines, leading spaces, values verbatim, bare names copied from the caller", async () => {
    const env = file("a.env", "# a comment\n\n  A=from-file\nB=two words  \nC=x=y\nCALLER_VAR\nNOT_SET_ANYWHERE\nQ=\"quoted\"\n");
    const r = await mydocker(["run", "--env-file", env, "sh", "-c", 'echo "[$A][$B][$C][$CALLER_VAR][${NOT_SET_ANYWHERE-unset}][$Q]"'], { env: { CALLER_VAR: "copied" } });
    expect(r).toEqual({ code: 0, stdout: '[from-file][two words  ][x=y][copied][unset]["quoted"]\n', stderr: "" });
  });

  test("files in order, then -e: the later one wins, and wins over the defaults (PATH)", async () => {
    const one = file("one.env", "A=1\nB=1\nC=1\nPATH=/from/file\n");
    const two = file("two.env", "B=2\nC=2\n");
    const r = await mydocker(["run", "--env-file", one, "--env-file", two, "-e", "C=3", "/bin/sh", "-c", 'echo $A$B$C; /usr/bin/env | /bin/grep -c "^C="; echo $PATH']);
    expect(r.stdout).toBe("123\n1\n/from/file\n");
    expect(r.code).toBe(0);
  });
});

describe("--entrypoint", () => {
  test("the image's ENTRYPOINT and CMD, then each override as docker merges them", async () => {
    const out = async (args: string[]) => {
      const r = await mydocker(["run", ...args]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return r.stdout;
    };
    expect(await out([EP_IMAGE])).toBe("ep default\n");
    expect(await out([EP_IMAGE, "given"])).toBe("ep given\n");
    // a new entrypoint drops the image's CMD
    expect(await out(["--entrypoint", "/bin/echo", EP_IMAGE])).toBe("\n");
    expect(await out(["--entrypoint", "/bin/echo", EP_IMAGE, "a", "b"])).toBe("a b\n");
    // "" clears it: the words are the whole command
    expect(await out(["--entrypoint", "", EP_IMAGE, "echo", "cleared"])).toBe("cleared\n");
  });

  test("inspect shows the entrypoint and the command apart", async () => {
    const r = await mydocker(["run", "--name", "ep1", "--entrypoint", "/bin/echo", EP_IMAGE, "a", "b"]);
    expect(r.code).toBe(0);
    const view = await mydocker(["inspect", "--format", "{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Path}} {{json .Args}}", "ep1"]);
    expect(view.stdout).toBe('["/bin/echo"] ["a","b"] /bin/echo ["a","b"]\n');
  });

  test("on the plain rootfs it goes in front of the words", async () => {
    expect(await mydocker(["run", "--entrypoint", "/bin/echo", "hi", "there"])).toEqual({ code: 0, stdout: "hi there\n", stderr: "" });
  });
});

describe("labels and --cidfile", () => {
  test("--label-file then -l, a later key winning; inspect and ps --filter see them", async () => {
    const labels = file("labels", "# team labels\ntier=db\nowner=ops\nflag\n");
    const r = await mydocker(["run", "--name", "lab1", "--label-file", labels, "-l", "tier=web", "--label", "env=test", "true"]);
    expect(r.code).toBe(0);
    const view = await mydocker(["inspect", "--format", "{{json .Config.Labels}}", "lab1"]);
    expect(JSON.parse(view.stdout)).toEqual({ tier: "web", owner: "ops", flag: "", env: "test" });
    expect((await mydocker(["ps", "-a", "--filter", "label=tier=web", "--format", "{{.Names}}"])).stdout).toBe("lab1\n");
    expect((await mydocker(["ps", "-a", "--filter", "label=tier=db", "--format", "{{.Names}}"])).stdout).toBe("");
  });

  test("--cidfile holds the id once the container is created", async () => {
    const cid = join(scratch, "new.cid");
    const r = await mydocker(["run", "-d", "--cidfile", cid, "true"]);
    expect(r.code).toBe(0);
    expect(readFileSync(cid, "utf8")).toBe(r.stdout.trim());
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    rmSync(cid);
  });
});

describe("--stop-signal, --stop-timeout and stop", () => {
  const TRAP = 'trap "echo got-usr1; exit 7" USR1; trap "echo got-term; exit 8" TERM; echo ready; while :; do sleep 0.05; done';

  test("stop sends the container's --stop-signal; inspect shows it", async () => {
    expect((await mydocker(["run", "-d", "--name", "sig1", "--stop-signal", "usr1", "sh", "-c", TRAP])).code).toBe(0);
    await waitForLog("sig1", "ready");
    expect((await mydocker(["inspect", "--format", "{{.Config.StopSignal}}", "sig1"])).stdout).toBe("SIGUSR1\n");
    expect(await mydocker(["stop", "sig1"])).toEqual({ code: 0, stdout: "sig1\n", stderr: "" });
    expect((await mydocker(["logs", "sig1"])).stdout).toBe("ready\ngot-usr1\n");
    expect((await mydocker(["inspect", "--format", "{{.State.ExitCode}}", "sig1"])).stdout).toBe("7\n");
  });

  test("stop -s overrides the recorded signal", async () => {
    expect((await mydocker(["run", "-d", "--name", "sig2", "--stop-signal", "SIGUSR1", "sh", "-c", TRAP])).code).toBe(0);
    await waitForLog("sig2", "ready");
    expect((await mydocker(["stop", "-s", "TERM", "sig2"])).code).toBe(0);
    expect((await mydocker(["logs", "sig2"])).stdout).toBe("ready\ngot-term\n");
  });

  test("stop waits --stop-timeout seconds, not 10, before SIGKILL; -t overrides it", async () => {
    const deaf = 'trap "" TERM; echo ready; while :; do sleep 0.05; done';
    expect((await mydocker(["run", "-d", "--name", "deaf1", "--stop-timeout", "1", "sh", "-c", deaf])).code).toBe(0);
    expect((await mydocker(["run", "-d", "--name", "deaf2", "--stop-timeout", "60", "sh", "-c", deaf])).code).toBe(0);
    await waitForLog("deaf1", "ready");
    await waitForLog("deaf2", "ready");
    let t = performance.now();
    expect((await mydocker(["stop", "deaf1"])).code).toBe(0);
    const waited = performance.now() - t;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(8000);
    t = performance.now();
    expect((await mydocker(["stop", "-t", "0", "deaf2"])).code).toBe(0);
    expect(performance.now() - t).toBeLessThan(8000);
    expect((await mydocker(["ps", "-a", "--format", "{{.Names}} {{.Status}}", "--filter", "name=deaf"])).stdout).toMatch(/^deaf2 Exited \(137\) .*\ndeaf1 Exited \(137\) /);
  });
});

/** Until the detached container's log has `line` (its command is running). */
async function waitForLog(name: string, line: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if ((await mydocker(["logs", name])).stdout.split("\n").includes(line)) return;
    await Bun.sleep(20);
  }
  throw new Error(`${name} never logged ${line}`);
}

describe("--init", () => {
  test("tini is PID 1, read-only at /sbin/docker-init, the command under it; the exit status passes through", async () => {
    const r = await mydocker(["run", "--init", "sh", "-c", 'tr "\\0" " " < /proc/1/cmdline; echo; echo x > /sbin/docker-init 2>/dev/null || echo read-only; exit 3']);
    expect(r.stdout).toBe("/sbin/docker-init -- sh -c tr \"\\0\" \" \" < /proc/1/cmdline; echo; echo x > /sbin/docker-init 2>/dev/null || echo read-only; exit 3 \nread-only\n");
    expect(r.code).toBe(3);
  });

  test("orphans are reaped: no zombie is left under PID 1", async () => {
    const r = await mydocker(["run", "--init", "sh", "-c", 'sh -c "sleep 0.2 &"; sleep 0.6; grep -l "^State:.*Z" /proc/[0-9]*/status | wc -l']);
    expect(r).toEqual({ code: 0, stdout: "0\n", stderr: "" });
  });

  test("a command with no TERM handler stops at once (tini passes SIGTERM on); ps and inspect show the command, not tini", async () => {
    expect((await mydocker(["run", "-d", "--init", "--name", "init1", "sleep", "100"])).code).toBe(0);
    expect((await mydocker(["ps", "--format", "{{.Command}}", "--filter", "name=init1"])).stdout).toBe('"sleep 100"\n');
    expect((await mydocker(["inspect", "--format", "{{.Path}} {{json .Args}}", "init1"])).stdout).toBe('sleep ["100"]\n');
    const t = performance.now();
    expect((await mydocker(["stop", "-t", "20", "init1"])).code).toBe(0);
    expect(performance.now() - t).toBeLessThan(10_000);
    expect((await mydocker(["inspect", "--format", "{{.State.ExitCode}}", "init1"])).stdout).toBe("143\n");
  });
});

describe("--pull, --platform", () => {
  test("--pull never and missing are accepted when the image is here", async () => {
    expect(await mydocker(["run", "--pull", "never", EP_IMAGE, "x"])).toEqual({ code: 0, stdout: "ep x\n", stderr: "" });
    expect(await mydocker(["run", "--pull=missing", "echo", "y"])).toEqual({ code: 0, stdout: "y\n", stderr: "" });
  });

  test("--platform that matches the image or the host runs", async () => {
    expect(await mydocker(["run", "--platform", `linux/${ARCH}`, EP_IMAGE, "x"])).toEqual({ code: 0, stdout: "ep x\n", stderr: "" });
    expect(await mydocker(["run", "--platform", "linux", "echo", "y"])).toEqual({ code: 0, stdout: "y\n", stderr: "" });
  });
});

describe("-a and --sig-proxy", () => {
  const BOTH = ["sh", "-c", "echo out; echo err >&2"];

  test("-a stdout: only stdout; -a stderr: only stderr; both by default", async () => {
    expect(await mydocker(["run", "-a", "stdout", ...BOTH])).toEqual({ code: 0, stdout: "out\n", stderr: "" });
    expect(await mydocker(["run", "-a", "STDERR", ...BOTH])).toEqual({ code: 0, stdout: "", stderr: "err\n" });
    expect(await mydocker(["run", "-a", "stdout", "-a", "stderr", ...BOTH])).toEqual({ code: 0, stdout: "out\n", stderr: "err\n" });
  });

  test("-i -a stdin: the input reaches the command, the id is printed instead of its output", async () => {
    const r = await mydocker(["run", "--name", "att1", "-i", "-a", "stdin", "sh", "-c", "cat > /tmp/in; cat /tmp/in; cat /tmp/in >&2; exit 4"], { stdin: "piped\n" });
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(4);
    expect((await mydocker(["inspect", "--format", "{{.Id}}", "att1"])).stdout).toBe(r.stdout);
  });

  test("by default a SIGTERM to run reaches the container", async () => {
    const c = startContainer(["run", "sh", "-c", 'trap "echo caught; exit 7" TERM; echo ready; while :; do sleep 0.05; done']);
    expect(await c.line()).toBe("ready");
    c.proc.kill("SIGTERM");
    expect(await c.line()).toBe("caught");
    expect(await c.proc.exited).toBe(7);
  });

  test("--sig-proxy=false: run neither passes it on nor dies of it; kill reaches the container", async () => {
    const c = startContainer(["run", "--name", "noproxy", "--sig-proxy=false", "sh", "-c", 'trap "echo caught; exit 7" TERM; echo ready; while :; do sleep 0.05; done']);
    expect(await c.line()).toBe("ready");
    c.proc.kill("SIGTERM");
    c.proc.kill("SIGINT");
    await Bun.sleep(300); // nothing should happen: there is no event to wait for
    expect((await mydocker(["ps", "--format", "{{.Names}} {{.State}}", "--filter", "name=noproxy"])).stdout).toBe("noproxy running\n");
    expect((await mydocker(["kill", "noproxy"])).code).toBe(0);
    const r = await c.finish();
    expect(r.stdout).toBe("");
    expect(r.code).toBe(137);
  });
});

describe("exec -d and exec --env-file", () => {
  test("exec -d prints nothing, returns 0 once the command runs, and the command goes on", async () => {
    expect((await mydocker(["run", "-d", "--name", "ex1", "sleep", "100"])).code).toBe(0);
    const r = await mydocker(["exec", "-d", "ex1", "sh", "-c", "echo started > /tmp/a; sleep 0.3; echo finished > /tmp/b"]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    for (let i = 0; i < 200 && (await mydocker(["exec", "ex1", "cat", "/tmp/b"])).code !== 0; i++) await Bun.sleep(20);
    expect((await mydocker(["exec", "ex1", "cat", "/tmp/a", "/tmp/b"])).stdout).toBe("started\nfinished\n");
  });

  test("exec -d of a missing command fails as exec does (127)", async () => {
    expect((await mydocker(["run", "-d", "--name", "ex2", "sleep", "100"])).code).toBe(0);
    const r = await mydocker(["exec", "-d", "ex2", "/no/such"]);
    expect(r.code).toBe(127);
    expect(r.stderr.trim()).toBe("mydocker: error: exec /no/such: no such file or directory");
  });

  test("exec --env-file, then -e, over the container's environment", async () => {
    expect((await mydocker(["run", "-d", "--name", "ex3", "-e", "KEEP=c", "-e", "B=c", "sleep", "100"])).code).toBe(0);
    const env = file("exec.env", "A=file\nB=file\n");
    const r = await mydocker(["exec", "--env-file", env, "-e", "A=cli", "ex3", "sh", "-c", "echo $A $B $KEEP"]);
    expect(r).toEqual({ code: 0, stdout: "cli file c\n", stderr: "" });
    expect((await mydocker(["exec", "--env-file", "/no/such", "ex3", "true"])).code).toBe(125);
  });
});

