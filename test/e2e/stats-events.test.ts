// `stats` from the container's cgroup (docker's columns, --no-stream, --format, -a) and `events`
// (the events log: a full lifecycle in order, --since/--until, --filter, --format, following).
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { containerCgroupDir, MYDOCKER, mydocker, ROOTFS, TEST_DATA_ROOT, testEnv, checkHostAroundEachTest } from "./helpers";

checkHostAroundEachTest();

const env = { MYDOCKER_STATS_INTERVAL_MS: "300" };

describe("stats", () => {
  test("--no-stream: docker's columns, memory against the limit, PIDs and CPU of a busy container", async () => {
    const id = (await mydocker(["run", "-d", "--name", "busy", "-m", "64m", "sh", "-c", "while :; do :; done & sleep 60"])).stdout.trim();
    const r = await mydocker(["stats", "--no-stream", "busy"], { env });
    expect(r.stderr).toBe("");
    const [header, row] = r.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^CONTAINER ID {3}NAME {6}CPU % {5}MEM USAGE \/ LIMIT {3}MEM % {5}NET I\/O {3,}BLOCK I\/O {3,}PIDS$/);
    const cells = row!.split(/ {3,}/);
    expect(cells[0]).toBe(id.slice(0, 12));
    expect(cells[1]).toBe("busy");
    expect(Number(cells[2]!.replace("%", ""))).toBeGreaterThan(30); // one CPU spinning
    expect(cells[3]).toMatch(/^[\d.]+(B|KiB|MiB) \/ 64MiB$/);
    expect(cells[7]).toBe("2"); // the loop's subshell, and sleep (busybox sh execs its last command)
  });

  test("--format json and templates; -a shows stopped containers with no figures", async () => {
    await mydocker(["run", "-d", "--name", "up", "sleep", "60"]);
    await mydocker(["run", "--name", "down", "true"]);
    const json = await mydocker(["stats", "--no-stream", "--format", "json", "up"], { env });
    const o = JSON.parse(json.stdout);
    expect(Object.keys(o).sort()).toEqual(["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"]);
    expect(o.PIDs).toBe("1");
    const t = await mydocker(["stats", "--no-stream", "--format", "table {{.Name}}\t{{.PIDs}}"], { env });
    expect(t.stdout).toBe("NAME      PIDS\nup        1\n");
    const all = await mydocker(["stats", "-a", "--no-stream", "--format", "{{.Name}} {{.PIDs}}"], { env });
    expect(all.stdout.split("\n").filter(Boolean).sort()).toEqual(["down --", "up 1"]);
    const bad = await mydocker(["stats", "--no-stream", "--format", "{{.Nope}}", "up"], { env });
    expect(bad.code).not.toBe(0);
  });

  // The block device under the containers' writable layers (the data root's), as MAJ:MIN of the
  // whole disk (blkio takes disks, not partitions), or undefined when it is no block device.
  const dataDisk = (() => {
    let at = TEST_DATA_ROOT;
    while (!existsSync(at)) at = dirname(at); // made by the first command: its parent's device
    const dev = statSync(at).dev;
    const [major, minor] = [Math.floor(dev / 256) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xfff00)];
    if (major === 0) return undefined; // tmpfs, overlay, 9p...: no block I/O to count
    const sys = `/sys/dev/block/${major}:${minor}`;
    const part = existsSync(`${sys}/partition`);
    return part ? readFileSync(`${sys}/../dev`, "utf8").trim() : `${major}:${minor}`;
  })();
  const V1 = !existsSync("/sys/fs/cgroup/cgroup.controllers");

  test.skipIf(!dataDisk)(`block I/O: the container's own blkio (v1) or io (v2) cgroup counts its direct writes${dataDisk ? "" : " (skipped: the test data root is on no block device)"}`, async () => {
    const id = (await mydocker(["run", "-d", "--name", "blk", "sleep", "60"])).stdout.trim();
    const cg = containerCgroupDir(id.slice(0, 12), V1 ? "blkio" : "io");
    // Since Linux 6.x, v1's blkio.throttle counters only count on a disk where a throttle limit
    // is set (blk-throttle starts lazily), as docker's --device-write-bps does; a limit no write
    // reaches makes them count for this container alone. v2's io.stat always counts.
    if (V1) writeFileSync(`${cg}/blkio.throttle.write_bps_device`, `${dataDisk} 1000000000000`);
    const dd = await mydocker(["exec", "blk", "dd", "if=/dev/zero", "of=/direct", "bs=1M", "count=4", "oflag=direct"]);
    expect(dd.code).toBe(0);
    const r = await mydocker(["stats", "--no-stream", "--format", "{{.BlockIO}}", "blk"], { env });
    const [read, written] = r.stdout.trim().split(" / ");
    expect(read).toMatch(/^[\d.]+k?B$|^[\d.]+MB$/);
    expect(Number.parseFloat(written!)).toBeGreaterThanOrEqual(4.19); // 4 MiB = 4.19MB (docker's decimal units)
    expect(written).toMatch(/^[\d.]+MB$/);
  });

  test("streams until interrupted", async () => {
    await mydocker(["run", "-d", "--name", "streamed", "sleep", "60"]);
    const p = Bun.spawn([MYDOCKER, "stats", "--format", "{{.Name}}", "streamed"], { stdout: "pipe", env: { ...testEnv(), ...env } });
    // read until the second report (a slow start, as in the emulated VM, delays the first), then interrupt
    let out = "";
    const decoder = new TextDecoder();
    const reader = p.stdout.getReader();
    const deadline = Date.now() + 20_000;
    while (out.split("\n").filter((l) => l === "streamed").length < 2 && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      out += decoder.decode(value, { stream: true });
    }
    p.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += decoder.decode(value, { stream: true });
    }
    expect(await p.exited).toBe(130);
    expect(out.split("\n").filter((l) => l === "streamed").length).toBeGreaterThanOrEqual(2);
  });
});

describe("events", () => {
  test("--filter label (the container's labels are among its events' attributes) and network", async () => {
    const since = String(Date.now() / 1000);
    await mydocker(["run", "--name", "evl", "-l", "team=a", "-l", "tier", "true"]);
    await mydocker(["run", "--name", "evn", "-l", "team=b", "true"]);
    expect((await mydocker(["network", "create", "evnet"])).code).toBe(0);
    expect((await mydocker(["network", "rm", "evnet"])).code).toBe(0);
    await mydocker(["rm", "evl", "evn"]);
    const q = (...f: string[]) => mydocker(["events", "--since", since, "--until", "0s", ...f.flatMap((x) => ["--filter", x]), "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"]);
    expect((await q("label=team=a")).stdout).toBe("container create evl\ncontainer start evl\ncontainer die evl\ncontainer destroy evl\n");
    expect((await q("label=tier", "event=die")).stdout).toBe("container die evl\n");
    expect((await q("label=team", "event=create")).stdout).toBe("container create evl\ncontainer create evn\n");
    expect((await q("network=evnet")).stdout).toBe("network create evnet\nnetwork destroy evnet\n");
    expect((await q("label=team=c")).stdout).toBe("");
  });

  test("a full lifecycle, in order, with --since/--until, --filter and --format", async () => {
    const since = String(Date.now() / 1000);
    await mydocker(["run", "-d", "--name", "ev", "sleep", "60"]);
    await mydocker(["pause", "ev"]);
    await mydocker(["unpause", "ev"]);
    await mydocker(["rename", "ev", "ev2"]);
    await mydocker(["stop", "-t", "0", "ev2"]); // PID 1 ignores SIGTERM: kill 15, then kill 9
    await mydocker(["rm", "ev2"]);
    const r = await mydocker(["events", "--since", since, "--until", "0s", "--filter", "type=container", "--format", "{{.Action}} {{.Actor.Attributes.name}}"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").filter(Boolean)).toEqual(["create ev", "start ev", "pause ev", "unpause ev", "rename ev2", "kill ev2", "kill ev2", "die ev2", "stop ev2", "destroy ev2"]);
    const text = await mydocker(["events", "--since", since, "--until", "0s", "--filter", "event=create", "--filter", "container=ev"]);
    expect(text.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container create [0-9a-f]{64} \(image=\S+, name=ev\)\n$/);
    const json = JSON.parse((await mydocker(["events", "--since", since, "--until", "0s", "--filter", "event=destroy", "--format", "json"])).stdout);
    expect(json).toMatchObject({ Type: "container", Action: "destroy", scope: "local", Actor: { Attributes: { name: "ev2" } } });
    expect(json.timeNano).toBeGreaterThan(Number(since) * 1e9);
    // --until before the run: nothing of it
    expect((await mydocker(["events", "--since", since, "--until", since, "--filter", "container=ev"])).stdout).toBe("");
  });

  test("image events (import, tag, untag, delete) arrive while `events` follows", async () => {
    const p = Bun.spawn([MYDOCKER, "events", "--filter", "type=image", "--format", "{{.Action}} {{.Actor.Attributes.name}}"], { stdout: "pipe", env: testEnv() });
    await Bun.sleep(300);
    expect((await mydocker(["import", ROOTFS, "evimg:1"])).code).toBe(0);
    expect((await mydocker(["tag", "evimg:1", "evimg:2"])).code).toBe(0);
    expect((await mydocker(["rmi", "evimg:2"])).code).toBe(0);
    expect((await mydocker(["rmi", "evimg:1"])).code).toBe(0);
    await Bun.sleep(400);
    p.kill("SIGINT");
    const out = await new Response(p.stdout).text();
    expect(out.split("\n").filter(Boolean)).toEqual(["import evimg:1", "tag evimg:2", "untag evimg:2", "untag evimg:1", "delete evimg:1"]);
  });

  test("bad times and filters are usage errors", async () => {
    for (const args of [["--since", "yesterday"], ["--filter", "colour=red"]]) {
      const r = await mydocker(["events", "--until", "0s", ...args]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});
