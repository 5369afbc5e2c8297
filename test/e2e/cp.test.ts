// `cp` both ways, with docker's rules for directories, trailing "/" and "/.", `-` tar streams and
// -a; and hostile symlinks inside the container (`/evil -> /`, `/etc/x -> ../../../../HOST_FILE`, a
// symlinked parent dir pointing at a host dir) in both directions: nothing outside the container's
// root is read or written, on a running container and on a stopped one (its overlay is mounted for
// the copy and unmounted after: the host check around each test sees any mount left).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, MYDOCKER, mydocker, testEnv } from "./helpers";

checkHostAroundEachTest();

let host: string; // a host directory the container's symlinks point at
let work: string; // where the tests copy to and from on the host

beforeAll(() => {
  host = mkdtempSync(join(tmpdir(), "mydocker-cp-host-"));
  writeFileSync(join(host, "secret"), "host secret\n");
  mkdirSync(join(host, "dir"));
  writeFileSync(join(host, "dir", "inside"), "host dir file\n");
});
const works: string[] = [];
afterAll(() => {
  for (const dir of [host, ...works]) rmSync(dir, { recursive: true, force: true });
});

/** A new, empty host directory for one test; all of them are removed after the file's tests. */
const fresh = () => {
  work = mkdtempSync(join(tmpdir(), "mydocker-cp-work-"));
  works.push(work);
  return work;
};

/** A running container (sleeping) with hostile symlinks and a few files, set up by exec. */
async function hostileContainer(name: string): Promise<void> {
  expect((await mydocker(["run", "-d", "--name", name, "sleep", "60"])).code).toBe(0);
  const setup = [
    "ln -s / /evil",
    `ln -s ../../../../..${host}/secret /etc/x`,
    `ln -s /../../..${host}/dir /sub`,
    "mkdir -p /data/d/e && echo a > /data/d/a && echo b > /data/d/e/b && ln -s a /data/d/la && chown 7:8 /data/d/a",
  ].join(" && ");
  const r = await mydocker(["exec", name, "sh", "-c", setup]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

const hostUntouched = () => {
  expect(readFileSync(join(host, "secret"), "utf8")).toBe("host secret\n");
  expect(readdirSync(host).sort()).toEqual(["dir", "secret"]);
  expect(readdirSync(join(host, "dir"))).toEqual(["inside"]);
};

/** Runs `mydocker ARGS` with `stdin` bytes, returns stdout as bytes. */
async function raw(args: string[], stdin?: Uint8Array): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  const p = Bun.spawn([MYDOCKER, ...args], { stdin: stdin ?? "ignore", stdout: "pipe", stderr: "pipe", env: testEnv() });
  const [out, err, code] = await Promise.all([new Response(p.stdout).arrayBuffer(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout: Buffer.from(out), stderr: err };
}

const tarList = (tar: Buffer) => Bun.spawnSync(["tar", "-tvf", "-", "--numeric-owner"], { stdin: tar }).stdout.toString().trim().split("\n");

describe("cp out of a container", () => {
  test("a file to a new name, into a directory, over a file; a directory whole or with /.", async () => {
    fresh();
    await hostileContainer("cpo");
    expect((await mydocker(["cp", "cpo:/data/d/e/b", join(work, "b-new")])).code).toBe(0);
    expect(readFileSync(join(work, "b-new"), "utf8")).toBe("b\n");
    expect((await mydocker(["cp", "cpo:/data/d/a", work])).code).toBe(0);
    expect(readFileSync(join(work, "a"), "utf8")).toBe("a\n");
    expect(statSync(join(work, "a")).uid).toBe(0); // without -a: the caller's
    expect((await mydocker(["cp", "-a", "cpo:/data/d/a", join(work, "b-new")])).code).toBe(0);
    expect(readFileSync(join(work, "b-new"), "utf8")).toBe("a\n");
    expect(statSync(join(work, "b-new")).uid).toBe(7);

    expect((await mydocker(["cp", "cpo:/data/d", join(work, "copy")])).code).toBe(0); // missing: created
    expect(readdirSync(join(work, "copy")).sort()).toEqual(["a", "e", "la"]);
    expect(readlinkSync(join(work, "copy", "la"))).toBe("a");
    expect((await mydocker(["cp", "cpo:/data/d", join(work, "copy")])).code).toBe(0); // exists: inside it
    expect(readFileSync(join(work, "copy", "d", "e", "b"), "utf8")).toBe("b\n");
    mkdirSync(join(work, "flat"));
    expect((await mydocker(["cp", "cpo:/data/d/.", join(work, "flat")])).code).toBe(0);
    expect(readdirSync(join(work, "flat")).sort()).toEqual(["a", "e", "la"]);

    const dirToFile = await mydocker(["cp", "cpo:/data/d", join(work, "a")]);
    expect(dirToFile.code).not.toBe(0);
    expect(dirToFile.stderr).toContain("cannot copy a directory to a file");
    const missing = await mydocker(["cp", "cpo:/nope", work]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("Could not find the file /nope in container");
  });

  test("- writes a tar of the path on stdout, named by its last component, owners kept", async () => {
    await hostileContainer("cpt");
    const r = await raw(["cp", "cpt:/data/d", "-"]);
    expect(r.code).toBe(0);
    const list = tarList(r.stdout);
    expect(list.map((l) => l.split(/\s+/).slice(5).join(" ")).sort()).toEqual(["d/", "d/a", "d/e/", "d/e/b", "d/la -> a"]);
    expect(list.find((l) => l.endsWith(" d/a"))).toContain(" 7/8 ");
  });

  test("hostile symlinks resolve inside the container: no host file is read", async () => {
    fresh();
    await hostileContainer("cpe");
    // the symlink itself is copied, not what it names
    expect((await mydocker(["cp", "cpe:/etc/x", join(work, "x")])).code).toBe(0);
    expect(lstatSync(join(work, "x")).isSymbolicLink()).toBe(true);
    // through a symlinked parent, and through /evil -> /: looked up in the container, where it is not
    for (const src of ["cpe:/sub/inside", `cpe:/evil${host}/secret`, `cpe:/etc/../../..${host}/secret`]) {
      const r = await mydocker(["cp", src, join(work, "got")]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("Could not find the file");
      expect(existsSync(join(work, "got"))).toBe(false);
    }
    // -L follows /etc/x, inside the container: still nothing of the host's
    expect((await mydocker(["cp", "-L", "cpe:/etc/x", join(work, "got")])).code).not.toBe(0);
    // /evil/etc/hostname is the container's own file
    expect((await mydocker(["cp", "cpe:/evil/etc/passwd", join(work, "passwd")])).code).toBe(0);
    expect(readFileSync(join(work, "passwd"), "utf8")).toContain("root:");
    hostUntouched();
  });
});

describe("cp into a container", () => {
  test("a file, a directory, /. contents, -a owners, and a tar on stdin", async () => {
    fresh();
    await hostileContainer("cpi");
    mkdirSync(join(work, "tree/sub"), { recursive: true });
    writeFileSync(join(work, "tree/f"), "f\n");
    writeFileSync(join(work, "tree/sub/g"), "g\n");
    symlinkSync("f", join(work, "tree/lf"));
    chownSync(join(work, "tree/f"), 1234, 2345);
    expect((await mydocker(["cp", join(work, "tree/f"), "cpi:/data/newname"])).code).toBe(0);
    expect((await mydocker(["cp", join(work, "tree"), "cpi:/data/"])).code).toBe(0);
    expect((await mydocker(["cp", "-a", join(work, "tree"), "cpi:/data/owned"])).code).toBe(0);
    expect((await mydocker(["exec", "cpi", "mkdir", "/flat"])).code).toBe(0);
    expect((await mydocker(["cp", join(work, "tree") + "/.", "cpi:/flat"])).code).toBe(0);
    const ls = await mydocker(["exec", "cpi", "sh", "-c", "cat /data/newname /data/tree/sub/g; readlink /data/tree/lf; stat -c '%u:%g' /data/tree/f /data/owned/f; ls /flat"]);
    expect(ls.stdout).toBe("f\ng\nf\n0:0\n1234:2345\nf\nlf\nsub\n");

    const tar = Bun.spawnSync(["tar", "-c", "-C", join(work, "tree"), "."]).stdout;
    const r = await raw(["cp", "-", "cpi:/data/d"], tar);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((await mydocker(["exec", "cpi", "cat", "/data/d/sub/g"])).stdout).toBe("g\n");
    const notDir = await raw(["cp", "-", "cpi:/data/newname"], tar);
    expect(notDir.code).not.toBe(0);
    expect(notDir.stderr).toContain("must be a directory");
  });

  test("hostile symlinks resolve inside the container: no host file is written", async () => {
    fresh();
    await hostileContainer("cpw");
    writeFileSync(join(work, "payload"), "payload\n");
    mkdirSync(join(work, "pdir"));
    writeFileSync(join(work, "pdir", "p"), "p\n");
    // onto a symlink to a host file: followed inside the container, where its directory does not
    // exist: refused, and the host file untouched (checked at the end)
    const onto = await mydocker(["cp", join(work, "payload"), "cpw:/etc/x"]);
    expect([onto.code, onto.stderr.trim().split("\n").length]).toEqual([1, 1]);
    expect(onto.stderr).toContain(`the parent directory of ${host}/secret does not exist`);
    // a dangling link whose directory exists: its target is made (docker writes at the link's target)
    expect((await mydocker(["exec", "cpw", "ln", "-s", "../data/made", "/data/dangling"])).code).toBe(0);
    expect((await mydocker(["cp", join(work, "payload"), "cpw:/data/dangling"])).code).toBe(0);
    expect((await mydocker(["exec", "cpw", "sh", "-c", "cat /data/made; readlink /data/dangling"])).stdout).toBe("payload\n../data/made\n");
    // onto a symlink to a file of the container (even by "..", past its root): docker follows it
    // inside the root and overwrites the target; the link stays a link
    expect((await mydocker(["exec", "cpw", "sh", "-c", "echo old > /data/t && ln -s ../../../../data/t /data/lt"])).code).toBe(0);
    expect((await mydocker(["cp", join(work, "payload"), "cpw:/data/lt"])).code).toBe(0);
    expect((await mydocker(["exec", "cpw", "sh", "-c", "cat /data/t; readlink /data/lt"])).stdout).toBe("payload\n../../../../data/t\n");
    // into /evil/<host path>, into a symlinked parent, through ".." and through a tar: in the container or nowhere
    await mydocker(["cp", join(work, "payload"), `cpw:/evil${host}/secret`]);
    await mydocker(["cp", join(work, "payload"), "cpw:/sub/inside"]);
    await mydocker(["cp", join(work, "pdir"), "cpw:/sub"]);
    await mydocker(["cp", join(work, "payload"), `cpw:/../../../..${host}/secret`]);
    const evilTar = Bun.spawnSync(["tar", "-c", "-C", work, "--transform", `s,^payload,..${host}/secret,`, "payload"]).stdout;
    const t = await raw(["cp", "-", "cpw:/"], evilTar);
    expect(t.code).not.toBe(0);
    expect(t.stderr).toContain("..");
    hostUntouched();
  });

  test("a stopped container: its overlay is mounted for the copy and unmounted after", async () => {
    fresh();
    expect((await mydocker(["run", "--name", "cps", "sh", "-c", "ln -s / /evil && echo was-here > /made"])).code).toBe(0);
    writeFileSync(join(work, "in"), "in\n");
    expect((await mydocker(["cp", join(work, "in"), "cps:/evil/in"])).code).toBe(0);
    expect((await mydocker(["cp", "cps:/made", join(work, "made")])).code).toBe(0);
    expect(readFileSync(join(work, "made"), "utf8")).toBe("was-here\n");
    const back = await raw(["cp", "cps:/in", "-"]);
    expect(back.code).toBe(0);
    expect(tarList(back.stdout)[0]).toMatch(/ in$/);
    hostUntouched();
  });
});

describe("cp usage", () => {
  test("one side must be a container, not both", async () => {
    const both = await mydocker(["cp", "a:/x", "b:/y"]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain("copying between containers is not supported");
    const none = await mydocker(["cp", "/tmp/a", "/tmp/b"]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain("must specify at least one container source");
    expect((await mydocker(["cp", "nosuch:/x", "/tmp"])).stderr).toContain("No such container: nosuch");
  });
});
