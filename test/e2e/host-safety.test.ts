// What a container can do to the host through the files it writes: nothing a host user can reach
// (layer dirs are 0710, state dirs 0700, as docker has them), nothing export or diff reads outside
// its layer (a symlink to / stays a symlink, even while the container swaps it in and out), and no
// --tmpfs option that would turn the tmpfs into something else.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, MYDOCKER, mydocker, ROOTFS, TEST_DATA_ROOT, TEST_ROOT, testEnv } from "./helpers";

setDefaultTimeout(60_000);

let out: string;
/** A host directory with a marker file, that a container names in a symlink. */
let hostDir: string;
const MARKER = "host-marker-5a5a";

beforeAll(async () => {
  // The temp roots are 0700 (mkdtemp); make them as traversable as the real ones (/var/lib/mydocker
  // 0711, /run/mydocker 0711), or every "nobody cannot" below would hold for the wrong reason.
  chmodSync(TEST_DATA_ROOT, 0o711);
  chmodSync(TEST_ROOT, 0o711);
  out = mkdtempSync(join(tmpdir(), "mydocker-safety-"));
  hostDir = join(out, "host");
  mkdirSync(hostDir);
  writeFileSync(join(hostDir, MARKER), MARKER);
  expect((await mydocker(["import", ROOTFS, "safety:1"])).code).toBe(0);
});
afterAll(() => rmSync(out, { recursive: true, force: true }));
checkHostAroundEachTest();

const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);
const owner = (p: string) => `${statSync(p).uid}:${statSync(p).gid}`;

/** Runs `sh -c SCRIPT` as nobody (no groups); returns its exit code and stderr. */
function asNobody(script: string): { code: number; stderr: string } {
  const r = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script], { stderr: "pipe" });
  return { code: r.exitCode ?? -1, stderr: r.stderr.toString() };
}

/** Starts a detached container that runs SCRIPT, then touches /ready and sleeps; waits for /ready. */
async function startWith(name: string, script: string): Promise<string> {
  const r = await mydocker(["run", "-d", "--name", name, "safety:1", "sh", "-c", `${script}; touch /ready; sleep 60`]);
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  const ready = join(TEST_DATA_ROOT, "containers", id, "upper", "ready");
  for (let i = 0; i < 200 && !existsSync(ready); i++) await Bun.sleep(20);
  expect(existsSync(ready)).toBe(true);
  return id;
}

describe("a running container's files are out of other host users' reach", () => {
  test("layer dirs 0710 root:root, upper 0755 inside, work 0700; state dir 0700", async () => {
    const id = await startWith("modes", "cp /bin/busybox /suid; chmod 4755 /suid; echo secret > /secret; chmod 644 /secret");
    const containers = join(TEST_DATA_ROOT, "containers");
    const layer = join(containers, id);
    expect([mode(containers), owner(containers)]).toEqual(["710", "0:0"]);
    expect([mode(layer), owner(layer)]).toEqual(["710", "0:0"]);
    expect(mode(join(layer, "upper"))).toBe("755"); // the container's own `/`
    expect(mode(join(layer, "work"))).toBe("700");
    expect(mode(join(layer, "merged"))).toBe("755"); // a mount point: this is the overlay's root, i.e. upper's mode
    expect(mode(join(layer, "upper", "suid"))).toBe("4755");
    expect([mode(join(TEST_ROOT, id)), owner(join(TEST_ROOT, id))]).toEqual(["700", "0:0"]);

    // the control: nobody can get as far as the data root and the runtime root
    expect(asNobody(`ls -d ${containers} ${TEST_ROOT}`).code).toBe(0);
    for (const path of [`${layer}/upper/secret`, `${layer}/merged/secret`, `${layer}/merged/etc/passwd`, `${TEST_ROOT}/${id}/config.json`]) {
      const r = asNobody(`cat ${path}`);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("Permission denied");
    }
    for (const path of [`${layer}/upper/suid`, `${layer}/merged/suid`]) {
      const r = asNobody(`${path} true`);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("Permission denied");
    }
    await mydocker(["rm", "-f", "modes"]);
  });
});

describe("export and diff never read through a container's symlinks", () => {
  test("a layer with /evil -> / exports the symlink, not the host", async () => {
    await startWith("evil", `ln -s / /evil; ln -s ${hostDir} /hostdir; echo mine > /mine`);
    for (const running of [true, false]) {
      if (!running) expect((await mydocker(["stop", "-t", "0", "evil"])).code).toBe(0);
      const tar = join(out, `evil-${running}.tar`);
      expect((await mydocker(["export", "evil", "-o", tar])).code).toBe(0);
      const list = Bun.spawnSync(["tar", "-tvf", tar]).stdout.toString().trim().split("\n");
      expect(list.filter((l) => / evil( |\/)/.test(l))).toEqual([expect.stringMatching(/^l.* evil -> \/$/)]);
      expect(list.filter((l) => / hostdir( |\/)/.test(l))).toEqual([expect.stringMatching(new RegExp(`^l.* hostdir -> ${hostDir}$`))]);
      expect(list.some((l) => l.includes(MARKER))).toBe(false);
      expect(list.some((l) => / mine$/.test(l))).toBe(true);
    }
    const diff = (await mydocker(["diff", "evil"])).stdout.split("\n");
    expect(diff.filter((l) => /evil|hostdir/.test(l))).toEqual(["A /evil", "A /hostdir"]);
    await mydocker(["rm", "-f", "evil"]);
  });

  test("a container swapping a directory for a symlink to the host while export runs", async () => {
    // d is a directory, then for a moment a symlink to the host directory, over and over
    const swap = `mkdir -p /d; echo inner > /d/inner; while :; do mv /d /d.x; ln -s ${hostDir} /d; rm /d; mv /d.x /d; done`;
    await startWith("swapper", `(${swap}) & sleep 0.2`);
    for (let i = 0; i < 8; i++) {
      const tar = join(out, `swap-${i}.tar`);
      const r = await mydocker(["export", "swapper", "-o", tar]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const list = Bun.spawnSync(["tar", "-tf", tar]).stdout.toString();
      expect(list).toContain("bin/busybox");
      expect(list).not.toContain(MARKER);
      const diff = await mydocker(["diff", "swapper"]);
      expect(diff.stdout).not.toContain(MARKER);
    }
    await mydocker(["rm", "-f", "swapper"]);
  });
});

describe("export's output", () => {
  test("to a pipe (stdout, read slowly) it is the same bytes as with -o", async () => {
    await startWith("piped", "i=0; while [ $i -lt 300 ]; do echo $i > /f$i; i=$((i+1)); done; dd if=/dev/zero of=/big bs=1k count=3000 2>/dev/null");
    const file = join(out, "piped.tar");
    expect((await mydocker(["export", "piped", "-o", file])).code).toBe(0);
    const proc = Bun.spawn([MYDOCKER, "export", "piped"], { stdout: "pipe", stderr: "pipe", env: testEnv() });
    await Bun.sleep(200); // let the pipe fill up: the writer must wait, not fail with EAGAIN
    const [piped, stderr, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), new Response(proc.stderr).text(), proc.exited]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(Buffer.from(piped).equals(readFileSync(file))).toBe(true);
    await mydocker(["rm", "-f", "piped"]);
  });
});

describe("--tmpfs takes tmpfs options only", () => {
  test("--tmpfs /x:bind is a usage error: exit 125, one line naming the option", async () => {
    const r = await mydocker(["run", "--rm", "--tmpfs", "/x:bind", "/bin/true"]);
    expect(r.code).toBe(125);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain('"bind" is not a tmpfs option');
  });

  test("--tmpfs with tmpfs options still mounts", async () => {
    const r = await mydocker(["run", "--rm", "--tmpfs", "/x:size=1m,mode=700,noexec,atime", "safety:1", "sh", "-c", "grep ' /x ' /proc/self/mountinfo; stat -c %a /x"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/ \/x rw,nosuid,nodev,noexec.* - tmpfs tmpfs rw,size=1024k,mode=700/);
    expect(r.stdout).toEndWith("\n700\n");
  });
});
