// `mydocker create`: run's flags, the id printed, status "created", and nothing started — no
// process, cgroup or mount until `start`. Bad input exits 125 with one line and records nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, cgroupTree, hostMounts, mydocker, mydockerProcesses, ROOTFS, TEST_DATA_ROOT } from "./helpers";

checkHostAroundEachTest();

const IMAGE = "create-test:1";
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "mydocker-create-"));
  const r = await mydocker(["import", "-c", 'CMD ["echo", "from-image"]', ROOTFS, IMAGE]);
  if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
});

afterAll(async () => {
  await mydocker(["rmi", IMAGE]);
  rmSync(scratch, { recursive: true, force: true });
});

describe("create", () => {
  test("prints the full id and nothing else; the container is Created, nothing runs, nothing is mounted", async () => {
    const mountsBefore = hostMounts();
    const cgroupsBefore = cgroupTree();
    const r = await mydocker(["create", "--name", "made1", "sleep", "100"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const id = r.stdout.trim();
    expect(hostMounts()).toEqual(mountsBefore);
    expect(cgroupTree()).toEqual(cgroupsBefore);
    expect(mydockerProcesses()).toEqual([]);
    expect(existsSync(join(TEST_DATA_ROOT, "containers", id))).toBe(false); // no writable layer yet
    const view = await mydocker(["inspect", "--format", "{{.Id}} {{.Name}} {{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}} {{.State.StartedAt}}", "made1"]);
    expect(view.stdout).toBe(`${id} /made1 created false 0 0 0001-01-01T00:00:00Z\n`);
    // it stays created: nobody is expected to be starting it
    await Bun.sleep(100);
    expect((await mydocker(["ps", "-a", "--filter", "name=made1", "--format", "{{.Names}} {{.Status}} {{.Command}}"])).stdout).toBe('made1 Created "sleep 100"\n');
    expect((await mydocker(["ps", "-q", "--filter", "name=made1"])).stdout).toBe("");
  });

  test("run's flags are recorded: labels, entrypoint, stop signal, environment, --cidfile", async () => {
    const cid = join(scratch, "made2.cid");
    const env = join(scratch, "made2.env");
    writeFileSync(env, "FROM_FILE=1\n");
    const r = await mydocker([
      "create", "--name", "made2", "--cidfile", cid, "-l", "role=db", "--stop-signal", "SIGHUP", "--stop-timeout", "3",
      "--env-file", env, "-e", "X=2", "--entrypoint", "/bin/echo", "--init", IMAGE, "a",
    ]);
    expect(r.code).toBe(0);
    expect(readFileSync(cid, "utf8")).toBe(r.stdout.trim());
    const view = await mydocker(["inspect", "--format", "{{json .Config.Labels}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.StopSignal}} {{.Config.Image}}", "made2"]);
    expect(view.stdout).toBe(`{"role":"db"} ["/bin/echo"] ["a"] SIGHUP ${IMAGE}\n`);
    const config = JSON.parse((await mydocker(["inspect", "--format", "{{json .OCIConfig.process}}", "made2"])).stdout);
    expect(config.args).toEqual(["/sbin/docker-init", "--", "/bin/echo", "a"]);
    expect(config.env).toContain("FROM_FILE=1");
    expect(config.env).toContain("X=2");
  });

  test("a created container is removed by rm without -f", async () => {
    expect((await mydocker(["create", "--name", "made3", "true"])).code).toBe(0);
    expect(await mydocker(["rm", "made3"])).toEqual({ code: 0, stdout: "made3\n", stderr: "" });
    expect((await mydocker(["ps", "-aq", "--filter", "name=made3"])).stdout).toBe("");
  });

  test("on an image: the image's CMD is the command", async () => {
    expect((await mydocker(["create", "--name", "made4", IMAGE])).code).toBe(0);
    expect((await mydocker(["ps", "-a", "--filter", "name=made4", "--format", "{{.Image}} {{.Command}}"])).stdout).toBe(`${IMAGE} "echo from-image"\n`);
  });
});

describe("create: bad input exits 125 with one line and records nothing", () => {
  const cases: [what: string, args: () => string[], message: RegExp][] = [
    ["no command", () => ["create"], /"create" requires at least 1 argument: \[IMAGE\] COMMAND$/],
    ["-d is run's, not create's", () => ["create", "-d", "true"], /unknown shorthand flag: 'd' in -d$/],
    ["--sig-proxy is run's, not create's", () => ["create", "--sig-proxy=false", "true"], /unknown flag: --sig-proxy$/],
    ["--pull always", () => ["create", "--pull", "always", "true"], /--pull always: there is no registry to pull from/],
    ["no such image", () => ["create", "alpine"], /Unable to find image 'alpine:latest' locally/],
    ["a bad -a", () => ["create", "-a", "nope", "true"], /invalid argument "nope" for "-a, --attach" flag/],
    ["a bad memory value", () => ["create", "-m", "lots", "true"], /invalid --memory "lots"/],
    ["a --cidfile that exists", () => ["create", "--cidfile", join(scratch, "exists.cid"), "true"], /container ID file found/],
  ];
  for (const [what, args, message] of cases) {
    test(what, async () => {
      writeFileSync(join(scratch, "exists.cid"), "x");
      const recorded = (await mydocker(["ps", "-aq"])).stdout;
      const r = await mydocker(args());
      expect(r.stdout).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.code).toBe(125);
      expect((await mydocker(["ps", "-aq"])).stdout).toBe(recorded);
    });
  }

  test("a name in use: the first container keeps it, no second one", async () => {
    const first = await mydocker(["create", "--name", "dup", "true"]);
    expect(first.code).toBe(0);
    const second = await mydocker(["create", "--name", "dup", "true"]);
    expect(second.code).toBe(125);
    expect(second.stderr.trim()).toBe(`mydocker: error: the container name "dup" is already in use by container ${first.stdout.slice(0, 12)}`);
    expect((await mydocker(["ps", "-aq", "--no-trunc", "--filter", "name=dup"])).stdout).toBe(first.stdout);
  });
});
