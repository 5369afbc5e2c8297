// docker's output formats on the compiled binary: --format templates (table, json, fields) for ps,
// images, inspect, volume ls, version, info and system df; ps and images filters; inspect's
// docker shape; top's ps options; and usage errors exiting 125 with one line, for every command.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, mydocker } from "./helpers";

const lines = (text: string) => text.split("\n").filter(Boolean);
const ok = async (args: string[]) => {
  const r = await mydocker(args);
  expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
  return r.stdout;
};

let scratch: string;
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "mydocker-format-"));
  // a one-file image with a label, through import --change
  const dir = join(scratch, "tree");
  Bun.spawnSync(["mkdir", "-p", dir]);
  writeFileSync(join(dir, "f"), "hi\n");
  Bun.spawnSync(["tar", "cf", join(scratch, "tree.tar"), "-C", dir, "."]);
});
afterAll(async () => {
  for (const name of ["up", "three", "zero", "vol-user"]) await mydocker(["rm", "-f", name]);
  await mydocker(["volume", "rm", "-f", "fmtvol"]);
  await mydocker(["rmi", "-f", "fmt-a:1", "fmt-b:2"]);
  rmSync(scratch, { recursive: true, force: true });
});

describe("ps", () => {
  checkHostAroundEachTest(async () => {
    await mydocker(["rm", "-f", "up", "three", "zero"]);
  });

  test("templates, table, json, filters, -n/-l, -q --no-trunc", async () => {
    expect((await mydocker(["run", "--name", "three", "sh", "-c", "exit 3"])).code).toBe(3);
    await ok(["run", "--name", "zero", "true"]);
    const id = (await ok(["run", "-d", "--name", "up", "sleep", "60"])).trim();

    expect(await ok(["ps", "--format", "{{.Names}}"])).toBe("up\n");
    expect(await ok(["ps", "--format", "{{.ID}} {{.State}} {{.Command}}"])).toBe(`${id.slice(0, 12)} running "sleep 60"\n`);
    // docker's header from the field names, columns three spaces apart
    expect(lines(await ok(["ps", "--format", "table {{.ID}}\\t{{.Names}}"]))).toEqual(["CONTAINER ID   NAMES", `${id.slice(0, 12)}   up`]);
    const [obj] = lines(await ok(["ps", "--format", "json"])).map((l) => JSON.parse(l));
    expect(Object.keys(obj).sort()).toEqual(["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Ports", "RunningFor", "Size", "State", "Status"]);
    expect(obj).toMatchObject({ ID: id.slice(0, 12), Names: "up", State: "running", Status: expect.stringMatching(/^Up /) });
    expect(obj.CreatedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    expect(await ok(["ps", "--format", "{{json .Names}}"])).toBe('"up"\n');
    expect(await ok(["ps", "--format", "{{.Names | upper}}"])).toBe("UP\n");

    // filters: same key ORed, different keys ANDed; a status filter looks at stopped ones too
    expect(lines(await ok(["ps", "-a", "--filter", "exited=3", "--format", "{{.Names}}"]))).toEqual(["three"]);
    expect(lines(await ok(["ps", "-f", "status=exited", "--format", "{{.Names}}"])).sort()).toEqual(["three", "zero"]);
    expect(lines(await ok(["ps", "-a", "-f", "name=three", "-f", "name=zero", "--format", "{{.Names}}"])).sort()).toEqual(["three", "zero"]);
    expect(lines(await ok(["ps", "-a", "-f", "name=three", "-f", "status=running", "--format", "{{.Names}}"]))).toEqual([]);
    // anchored patterns, with and without docker's leading slash
    expect(lines(await ok(["ps", "-a", "-f", "name=^/three$", "--format", "{{.Names}}"]))).toEqual(["three"]);
    expect(lines(await ok(["ps", "-a", "-f", "name=^three$", "--format", "{{.Names}}"]))).toEqual(["three"]);
    expect(lines(await ok(["ps", "-a", "-f", `id=${id.slice(0, 6)}`, "--format", "{{.Names}}"]))).toEqual(["up"]);
    expect(lines(await ok(["ps", "-a", "-f", "since=three", "--format", "{{.Names}}"]))).toEqual(["up", "zero"]);
    expect(lines(await ok(["ps", "-a", "-f", "before=zero", "--format", "{{.Names}}"]))).toEqual(["three"]);
    // newest first; -n and -l include stopped containers
    expect(lines(await ok(["ps", "-a", "--format", "{{.Names}}"]))).toEqual(["up", "zero", "three"]);
    expect(lines(await ok(["ps", "-n", "2", "--format", "{{.Names}}"]))).toEqual(["up", "zero"]);
    expect(lines(await ok(["ps", "-l", "-q", "--no-trunc"]))).toEqual([id]);
    // -s: the writable layer, and a SIZE column
    expect(lines(await ok(["ps", "-s"]))[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\s+SIZE$/);
    expect(await ok(["ps", "-s", "--format", "{{.Size}}"])).toMatch(/^\d+(\.\d+)?[kMG]?B \(virtual \d+(\.\d+)?[kMG]?B\)\n$/);
  });

  test("a format that is not understood is an error, never the table", async () => {
    for (const f of ["{{.Nope}}", "{{.Names", "{{nosuch .Names}}", "{{if .Names}}x"]) {
      await ok(["run", "-d", "--name", "up", "sleep", "60"]).catch(() => {});
      const r = await mydocker(["ps", "--format", f]);
      expect({ f, code: r.code, stdout: r.stdout, lines: lines(r.stderr).length }).toEqual({ f, code: 125, stdout: "", lines: 1 });
      await mydocker(["rm", "-f", "up"]);
    }
    const bad = await mydocker(["ps", "--filter", "color=red"]);
    expect([bad.code, lines(bad.stderr)]).toEqual([125, [expect.stringContaining("invalid filter 'color'")]]);
  });
});

describe("inspect", () => {
  checkHostAroundEachTest();

  test("docker's shape: State, Config, HostConfig, Name with its slash, the OCI config under its own key", async () => {
    const id = (await ok(["run", "-d", "--name", "up", "-m", "64m", "--pids-limit", "50", "-w", "/tmp", "-e", "A=1", "sleep", "60"])).trim();
    try {
      const [c] = JSON.parse(await ok(["inspect", "up"]));
      expect(c.Id).toBe(id);
      expect(c.Name).toBe("/up");
      expect(c.State).toMatchObject({ Status: "running", Running: true, Paused: false, OOMKilled: false, ExitCode: 0, FinishedAt: "0001-01-01T00:00:00Z" });
      expect(c.State.Pid).toBeGreaterThan(1);
      expect(c.State.StartedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(c.Config).toMatchObject({ Cmd: ["sleep", "60"], Entrypoint: null, WorkingDir: "/tmp", User: "", Labels: {} });
      expect(c.Config.Env).toContain("A=1");
      expect(c.HostConfig).toMatchObject({ Memory: 64 * 1024 * 1024, PidsLimit: 50, ReadonlyRootfs: false, Privileged: false, RestartPolicy: { Name: "no", MaximumRetryCount: 0 }, Binds: null });
      expect(c.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: {} });
      expect(c.Config.StopTimeout).toBeUndefined(); // docker omits it unless --stop-timeout was given
      expect(c.OCIConfig.ociVersion).toBe("1.2.0");
      expect(c.OCIConfig.process.args).toEqual(["sleep", "60"]);
      // -f: a template per object
      expect(await ok(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.Name}}", "up"])).toBe("running 0 /up\n");
      expect(await ok(["inspect", "-f", "{{json .Config.Cmd}}", "up"])).toBe('["sleep","60"]\n');
      const bad = await mydocker(["inspect", "-f", "{{.State.Nope}}", "up"]);
      expect([bad.code, bad.stdout, lines(bad.stderr)]).toEqual([125, "", [expect.stringContaining("can't evaluate field Nope")]]);
    } finally {
      await mydocker(["rm", "-f", "up"]);
    }
    expect((await mydocker(["run", "--name", "three", "--stop-timeout", "3", "--log-opt", "max-size=1k,max-file=2", "-l", "y=1", "-l", "x=2", "sh", "-c", "exit 3"])).code).toBe(3);
    expect(await ok(["inspect", "-f", "{{.State.Running}} {{.State.ExitCode}} {{.State.Pid}}", "three"])).toBe("false 3 0\n");
    // the flags' figures as docker shows them; map keys sorted as Go's JSON encoder writes them
    expect(await ok(["inspect", "-f", "{{json .Config.StopTimeout}} {{json .HostConfig.LogConfig}} {{json .Config.Labels}}", "three"])).toBe(
      '3 {"Type":"json-file","Config":{"max-file":"2","max-size":"1k"}} {"x":"2","y":"1"}\n',
    );
    await ok(["rm", "three"]);
  });

  test("images and volumes, --type", async () => {
    await ok(["import", join(scratch, "tree.tar"), "fmt-a:1"]);
    await ok(["volume", "create", "fmtvol"]);
    const [image] = JSON.parse(await ok(["inspect", "--type", "image", "fmt-a:1"]));
    expect(image).toMatchObject({ RepoTags: ["fmt-a:1"], RootFS: { Type: "layers" } });
    expect(image.Id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.RootFS.Layers).toHaveLength(1);
    expect(await ok(["inspect", "-f", "{{.Size}}", "fmt-a:1"])).toBe("3\n");
    expect(await ok(["inspect", "-f", "{{.Name}} {{.Driver}}", "fmtvol"])).toBe("fmtvol local\n");
    const wrong = await mydocker(["inspect", "--type", "container", "fmt-a:1"]);
    expect([wrong.code, lines(wrong.stderr)]).toEqual([1, [expect.stringContaining("No such container: fmt-a:1")]]);
    const badType = await mydocker(["inspect", "--type", "network", "x"]);
    expect(badType.code).toBe(125);
  });
});

describe("images, volume ls, version, info, system df", () => {
  checkHostAroundEachTest();

  test("images: filters and templates", async () => {
    await ok(["import", join(scratch, "tree.tar"), "fmt-a:1"]);
    await Bun.sleep(1100); // `since` compares creation times
    await ok(["import", join(scratch, "tree.tar"), "fmt-b:2"]);
    expect(lines(await ok(["images", "--filter", "reference=fmt-*", "--format", "{{.Repository}}:{{.Tag}}"]))).toEqual(["fmt-b:2", "fmt-a:1"]);
    expect(lines(await ok(["images", "-f", "reference=fmt-a", "-f", "reference=fmt-b:2", "--format", "{{.Repository}}"]))).toEqual(["fmt-b", "fmt-a"]);
    // (other test files share this data root: keep to our own images, different keys are ANDed)
    expect(lines(await ok(["images", "-f", "since=fmt-a:1", "-f", "reference=fmt-*", "--format", "{{.Repository}}"]))).toEqual(["fmt-b"]);
    expect(lines(await ok(["images", "-f", "before=fmt-b:2", "-f", "reference=fmt-*", "--format", "{{.Repository}}"]))).toEqual(["fmt-a"]);
    expect(lines(await ok(["images", "-f", "dangling=true", "-q"]))).toEqual([]);
    // labels from import --change LABEL, as docker's import and commit take them
    await ok(["import", "--change", 'LABEL team=a "the tier"=web', join(scratch, "tree.tar"), "fmt-lab:1"]);
    expect(await ok(["inspect", "-f", "{{json .Config.Labels}}", "fmt-lab:1"])).toBe('{"team":"a","the tier":"web"}\n');
    expect(lines(await ok(["images", "-f", "label=team=a", "--format", "{{.Repository}}"]))).toEqual(["fmt-lab"]);
    expect(lines(await ok(["images", "-f", "label=the tier", "-f", "reference=fmt-*", "--format", "{{.Repository}}"]))).toEqual(["fmt-lab"]);
    expect(lines(await ok(["images", "-f", "label=team=b", "--format", "{{.Repository}}"]))).toEqual([]);
    await ok(["rmi", "fmt-lab:1"]);
    expect(lines(await ok(["images", "-f", "reference=fmt-a", "--format", "table {{.Repository}}\\t{{.Tag}}"]))).toEqual(["REPOSITORY   TAG", "fmt-a        1"]);
    // an image with two names: only the tags that match are listed (docker's reference filter)
    await ok(["tag", "fmt-a:1", "fmt-other:7"]);
    expect(lines(await ok(["images", "-f", "reference=fmt-a*", "--format", "{{.Repository}}:{{.Tag}}"]))).toEqual(["fmt-a:1"]);
    expect(lines(await ok(["images", "-f", "reference=*:7", "--format", "{{.Repository}}:{{.Tag}}"]))).toEqual(["fmt-other:7"]);
    await ok(["rmi", "fmt-other:7"]);
    const bad = await mydocker(["images", "--format", "{{.Nope}}"]);
    expect(bad.code).toBe(125);
  });

  test("volume ls: docker's table, -q, --format, --filter; unknown flags refused", async () => {
    await ok(["volume", "create", "fmtvol"]);
    expect(lines(await ok(["volume", "ls"]))).toContain("local     fmtvol");
    expect(lines(await ok(["volume", "ls"]))[0]).toBe("DRIVER    VOLUME NAME");
    expect(lines(await ok(["volume", "ls", "--format", "{{.Name}}:{{.Driver}}", "-f", "name=fmtv"]))).toEqual(["fmtvol:local"]);
    expect(lines(await ok(["volume", "ls", "-q", "-f", "dangling=true"]))).toContain("fmtvol");
    const r = await mydocker(["volume", "ls", "--bogus"]);
    expect([r.code, lines(r.stderr)]).toEqual([125, ["mydocker: error: unknown flag: --bogus"]]);
  });

  test("version, info and system df, with --format", async () => {
    expect(await ok(["version", "--format", "{{.Client.Version}}"])).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(await ok(["version", "-f", "{{.Server.OCIRuntimeSpec}} {{.Client.BunVersion}}"])).toBe(`1.2.0 ${Bun.version}\n`);
    expect(await ok(["version"])).toMatch(/^Client:\n Version: +\S+\n OCI runtime-spec: +1\.2\.0\n Bun version: +\S+\n/);
    const info = JSON.parse(await ok(["info", "--format", "{{json .}}"]));
    expect(info).toMatchObject({ CgroupDriver: "cgroupfs", CgroupVersion: expect.stringMatching(/^[12]$/), OSType: "linux", Driver: "overlay" });
    expect(info.SecurityOptions).toContain("name=seccomp,profile=builtin");
    expect(await ok(["info"])).toMatch(/\n Containers: \d+\n  Running: \d+\n  Paused: \d+\n  Stopped: \d+\n Images: \d+\n/);
    expect(lines(await ok(["system", "df"]))[0]).toBe("TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE");
    expect(lines(await ok(["system", "df", "--format", "{{.Type}}"]))).toEqual(["Images", "Containers", "Local Volumes", "Build Cache"]);
    const [images] = lines(await ok(["system", "df", "--format", "json"])).map((l) => JSON.parse(l));
    expect(Object.keys(images)).toEqual(["Active", "Reclaimable", "Size", "TotalCount", "Type"]);
  });

  test("system df counts a layer two images share once; it is not reclaimable while a container uses one of them", async () => {
    const data = mkdtempSync(join(tmpdir(), "mydocker-df-"));
    const env = { MYDOCKER_DATA_ROOT: data };
    const df = async () => (await mydocker(["system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}"], { env })).stdout.split("\n")[0];
    try {
      // the same tar twice: two images (tags), one layer of 3 bytes
      for (const ref of ["df-a:1", "df-b:1"]) expect((await mydocker(["import", join(scratch, "tree.tar"), ref], { env })).code).toBe(0);
      expect(await df()).toBe("Images 2 0 3B 3B (100%)");
      expect((await mydocker(["create", "--name", "df-user", "--network", "none", "df-a:1", "/f"], { env })).code).toBe(0);
      expect(await df()).toBe("Images 2 1 3B 0B (0%)");
      // -v: docker's four sections; the shared layer is each image's SHARED SIZE
      const v = (await mydocker(["system", "df", "-v"], { env })).stdout.split("\n");
      expect(v.filter((l) => l.endsWith("space usage:") || l.startsWith("Build cache"))).toEqual(["Images space usage:", "Containers space usage:", "Local Volumes space usage:", "Build cache usage: 0B"]);
      expect(v[2]!.split(/ {2,}/)).toEqual(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"]);
      const rows = v.filter((l) => l.startsWith("df-")).map((l) => l.split(/ {2,}/));
      expect(rows.map((r) => [r[0], r[1], r[4], r[5], r[6], r[7]]).sort()).toEqual([["df-a", "1", "3B", "3B", "0B", "1"], ["df-b", "1", "3B", "3B", "0B", "0"]]);
      const user = v.find((l) => l.endsWith(" df-user"))!.split(/ {2,}/);
      expect([user[1], user[2], user[3], user[6]]).toEqual(["df-a:1", '"/f"', "0", "Created"]);
      expect((await mydocker(["system", "df", "-v", "--format", "json"], { env })).code).toBe(125);
    } finally {
      await mydocker(["rm", "-f", "df-user"], { env });
      rmSync(data, { recursive: true, force: true });
    }
  });

  test("top passes ps options to ps, as docker", async () => {
    const id = (await ok(["run", "-d", "--name", "up", "sleep", "60"])).trim();
    try {
      const out = lines(await ok(["top", "up", "-o", "pid,comm"]));
      expect(out[0]!.trim().split(/\s+/)).toEqual(["PID", "COMMAND"]);
      expect(out.slice(1).map((l) => l.trim().split(/\s+/)[1])).toEqual(["sleep"]);
      expect(id).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await mydocker(["rm", "-f", "up"]);
    }
  });
});

describe("usage errors: 125 and one line, for every command; runtime failures stay 1", () => {
  const usage: string[][] = [
    ["ps", "--bogus"],
    ["images", "--bogus"],
    ["inspect"],
    ["rm"],
    ["logs", "--bogus", "x"],
    ["stop", "--bogus", "x"],
    ["volume", "ls", "--bogus"],
    ["volume", "frob"],
    ["rmi"],
    ["tag", "only-one"],
    ["system", "frob"],
    ["ps", "-n"],
  ];
  for (const argv of usage)
    test(argv.join(" "), async () => {
      const r = await mydocker(argv);
      expect({ code: r.code, lines: lines(r.stderr).length, stdout: r.stdout }).toEqual({ code: 125, lines: 1, stdout: "" });
    });
  test("rm nosuch, volume inspect nosuch: 1", async () => {
    expect((await mydocker(["rm", "nosuch"])).code).toBe(1);
    expect((await mydocker(["volume", "inspect", "nosuch"])).code).toBe(1);
  });
});
