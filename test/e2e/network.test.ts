// Networks (issue #11): real bridges, veth pairs and nftables rules on this host, traffic only
// between the host and containers on bridges these tests made, or inside one container. After
// every test the host's links, addresses and nftables ruleset are as before it, and the store
// holds no address or port of it.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { mydocker, ROOTFS, TEST_DATA_ROOT, testEnv, MYDOCKER } from "./helpers";
import { probeBinary } from "./probe";
import { nftTableName } from "../../src/network/store";
import { hostVethName } from "../../src/network/attach";

const T = 60_000;
const lines = (s: string) => s.trim().split("\n").filter(Boolean);
const sh = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return r.stdout.toString();
};

/**
 * What a test may not leave: links, IPv4 addresses, nftables rules, the store's allocations — of
 * this suite's data root (its bridges, the veths on them or on none, its table), so that other
 * mydocker users of this host at the same moment do not count.
 */
function hostNetwork() {
  let store: { networks: { name: string; bridge: string; endpoints: object }[]; ports: unknown[] } = { networks: [], ports: [] };
  try {
    store = JSON.parse(readFileSync(join(TEST_DATA_ROOT, "networks.json"), "utf8"));
  } catch {}
  const bridges = new Set(store.networks.map((n) => n.bridge));
  const all = JSON.parse(sh(["ip", "-j", "link"])) as { ifname: string; master?: string; link_type?: string }[];
  const ours = all.filter((l) => bridges.has(l.ifname) || (l.master ? bridges.has(l.master) : /^veth[0-9a-f]{11}$/.test(l.ifname)));
  const names = new Set(ours.map((l) => l.ifname));
  const addrs = (JSON.parse(sh(["ip", "-j", "-4", "addr"])) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[])
    .filter((l) => names.has(l.ifname))
    .flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`))
    .sort();
  const table = sh(["nft", "list", "table", "ip", nftTableName(TEST_DATA_ROOT)]);
  return { links: [...names].sort(), addrs, table, networks: store.networks.map((n) => `${n.name}:${Object.keys(n.endpoints).length}`).sort(), ports: store.ports };
}

const ipOf = async (name: string) => (await mydocker(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", name])).stdout.trim();

let before: ReturnType<typeof hostNetwork>;
const made: string[] = [];
const nets: string[] = [];

beforeAll(async () => {
  // the default network is made on first use and stays (as docker0 does): make it part of the baseline
  const r = await mydocker(["run", "--rm", "true"]);
  expect(r.code).toBe(0);
  // its veth pair goes with its namespace, from the kernel's work queue: not part of the baseline
  const veths = () => hostNetwork().links.filter((l) => l.startsWith("veth"));
  for (let i = 0; i < 250 && veths().length; i++) await Bun.sleep(20);
  expect(veths()).toEqual([]);
});

beforeEach(() => {
  before = hostNetwork();
});

afterEach(async () => {
  if (made.length) await mydocker(["rm", "-f", ...made.splice(0)]);
  for (const n of nets.splice(0)) await mydocker(["network", "rm", n]);
  // a container's veth pair goes with its namespace, which the kernel frees from a work queue:
  // give it up to 5 s (milliseconds here; an emulated VM, make test-vm, is far slower)
  let after = hostNetwork();
  for (let i = 0; i < 250 && JSON.stringify(after) !== JSON.stringify(before); i++) {
    await Bun.sleep(20);
    after = hostNetwork();
  }
  expect(after).toEqual(before);
});

afterAll(async () => {
  await mydocker(["network", "rm", "bridge"]);
});

async function network(name: string, ...flags: string[]) {
  const r = await mydocker(["network", "create", ...flags, name]);
  expect(r.stderr).not.toContain("error");
  expect(r.code).toBe(0);
  nets.push(name);
  return r.stdout.trim();
}

async function detached(...args: string[]) {
  const r = await mydocker(["run", "-d", ...args]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  made.push(id);
  return id;
}

describe("network modes", () => {
  test("--network none: only lo", async () => {
    const r = await mydocker(["run", "--rm", "--network", "none", "ls", "/sys/class/net"]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(["lo"]);
  }, T);

  test("the default bridge: eth0 with an address of the network, a default route, its own /etc files", async () => {
    const r = await mydocker(["run", "--rm", "--hostname", "box1", "sh", "-c", "ls /sys/class/net; ip -4 -o addr show eth0; ip route; cat /etc/hostname; grep box1 /etc/hosts; cat /etc/resolv.conf"]);
    expect(r.code).toBe(0);
    const subnet = JSON.parse((await mydocker(["network", "inspect", "-f", "{{json .IPAM.Config}}", "bridge"])).stdout)[0];
    const prefix = subnet.Subnet.split("/")[1];
    expect(r.stdout).toContain("eth0\nlo\n");
    const addr = r.stdout.match(/inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/)!;
    expect(addr[2]).toBe(prefix);
    expect(addr[1]!.split(".").slice(0, 2)).toEqual(subnet.Subnet.split(".").slice(0, 2));
    expect(r.stdout).toContain(`default via ${subnet.Gateway} dev eth0`);
    expect(r.stdout).toContain(`\nbox1\n${addr[1]}\tbox1\n`);
    expect(r.stdout).not.toMatch(/nameserver 127\./);
    // the image's /etc files are untouched (the container got bind mounts)
    expect(readFileSync(join(import.meta.dir, "../../rootfs/etc/hostname"), "utf8")).not.toContain("box1");
  }, T);

  test("--network host: the host's own network namespace and hostname", async () => {
    const r = await mydocker(["run", "--rm", "--network", "host", "sh", "-c", "readlink /proc/self/ns/net; cat /etc/hostname"]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([readlinkSync("/proc/self/ns/net"), sh(["hostname"]).trim()]);
  }, T);

  test("--network container:X shares X's namespace, address and /etc/hosts", async () => {
    await detached("--name", "netowner", "sleep", "60");
    const owner = (await mydocker(["exec", "netowner", "sh", "-c", "readlink /proc/self/ns/net; ip -4 -o addr show eth0"])).stdout;
    const r = await mydocker(["run", "--rm", "--network", "container:netowner", "sh", "-c", "readlink /proc/self/ns/net; ip -4 -o addr show eth0"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(owner);
    const bad = await mydocker(["run", "--rm", "--network", "container:nosuch", "true"]);
    expect(bad.code).toBe(125);
    expect(lines(bad.stderr)).toHaveLength(1);
  }, T);

  test("--dns, --dns-search and --add-host go into the container's own files", async () => {
    const r = await mydocker(["run", "--rm", "--dns", "10.9.9.9", "--dns-search", "a.test", "--add-host", "db.local:10.1.2.3", "sh", "-c", "cat /etc/resolv.conf; grep db.local /etc/hosts"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^search a\.test\n/);
    expect(r.stdout).toContain("nameserver 10.9.9.9\n");
    expect(r.stdout.match(/nameserver/g)).toHaveLength(1);
    expect(r.stdout).toEndWith("10.1.2.3\tdb.local\n");
    const bad = await mydocker(["run", "--rm", "--add-host", "nocolon", "true"]);
    expect([bad.code, lines(bad.stderr).length]).toEqual([125, 1]);
  }, T);
});

describe("user-defined networks", () => {
  test("two containers reach each other by name and alias; inspect lists them; rm is refused while used", async () => {
    await network("nt-app", "--subnet", "10.231.0.0/24");
    await detached("--name", "nt-web", "--network", "nt-app", "--network-alias", "www", "sh", "-c", "echo hello > /tmp/i; httpd -f -p 80 -h /tmp");
    const r = await mydocker(["run", "--rm", "--network", "nt-app", "--name", "nt-client", "sh", "-c", "ping -c1 -W2 nt-web >/dev/null && echo pinged; wget -q -O- http://www/i"]);
    expect(r.stdout).toBe("pinged\nhello\n");
    expect(r.code).toBe(0);
    const inspect = JSON.parse((await mydocker(["network", "inspect", "nt-app"])).stdout)[0];
    expect(inspect.IPAM.Config).toEqual([{ Subnet: "10.231.0.0/24", Gateway: "10.231.0.1" }]);
    expect(Object.values(inspect.Containers).map((c: any) => [c.Name, c.IPv4Address])).toEqual([["nt-web", "10.231.0.2/24"]]);
    const rm = await mydocker(["network", "rm", "nt-app"]);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain("has active endpoints (nt-web)");
    expect((await mydocker(["network", "ls", "--format", "{{.Name}} {{.Driver}}"])).stdout).toContain("nt-app bridge\n");
  }, T);

  test("--ip, network, broadcast and gateway are never given out, and an address is never given twice", async () => {
    await network("nt-ip", "--subnet", "10.232.0.0/29"); // hosts .1 (gateway) to .6
    await detached("--name", "nt-fixed", "--network", "nt-ip", "--ip", "10.232.0.5", "sleep", "60");
    expect(await ipOf("nt-fixed")).toBe("10.232.0.5");
    const twice = await mydocker(["run", "--rm", "--network", "nt-ip", "--ip", "10.232.0.5", "true"]);
    expect(twice.code).toBe(125);
    expect(twice.stderr).toContain("Address already in use");
    for (const bad of ["10.232.0.0", "10.232.0.1", "10.232.0.7"]) expect((await mydocker(["run", "--rm", "--network", "nt-ip", "--ip", bad, "true"])).code).toBe(125);
    const got = [];
    for (const n of [1, 2, 3, 4]) got.push(await ipOf(await detached("--name", `nt-auto${n}`, "--network", "nt-ip", "sleep", "60")));
    expect(got).toEqual(["10.232.0.2", "10.232.0.3", "10.232.0.4", "10.232.0.6"]);
    const full = await mydocker(["run", "--rm", "--network", "nt-ip", "true"]);
    expect(full.code).toBe(125);
    expect(full.stderr).toContain("no available IPv4 addresses");
  }, T);

  test("30 containers started at once get 30 distinct addresses", async () => {
    await network("nt-many", "--subnet", "10.233.0.0/24");
    const names = Array.from({ length: 30 }, (_, i) => `nt-many-${i}`);
    made.push(...names); // removed by name after the test, whatever happened
    // generous limits: under software emulation (make test-vm) the 30 starts take over a minute
    const runs = await Promise.all(names.map((n) => mydocker(["run", "-d", "--name", n, "--network", "nt-many", "sleep", "300"], { timeoutMs: 170_000 })));
    expect(runs.map((r) => r.code)).toEqual(Array(30).fill(0));
    const ips = await Promise.all(names.map(ipOf));
    expect(new Set(ips).size).toBe(30);
    for (const ip of ips) expect(ip).toMatch(/^10\.233\.0\.([2-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])$/);
  }, 200_000);

  test("connect and disconnect a running container", async () => {
    await network("nt-a", "--subnet", "10.234.0.0/24");
    await network("nt-b", "--subnet", "10.235.0.0/24");
    await detached("--name", "nt-multi", "--network", "nt-a", "sleep", "60");
    const c = await mydocker(["network", "connect", "--ip", "10.235.0.9", "nt-b", "nt-multi"]);
    expect(c.code).toBe(0);
    expect((await mydocker(["exec", "nt-multi", "ip", "-4", "-o", "addr", "show", "eth1"])).stdout).toContain("inet 10.235.0.9/24");
    expect((await mydocker(["ps", "--format", "{{.Networks}}", "-f", "name=nt-multi"])).stdout).toBe("nt-a,nt-b\n");
    expect((await mydocker(["network", "disconnect", "nt-b", "nt-multi"])).code).toBe(0);
    expect((await mydocker(["exec", "nt-multi", "ls", "/sys/class/net"])).stdout).toBe("eth0\nlo\n");
  }, T);

  test("--internal: reaches its peers, not containers of other networks", async () => {
    await network("nt-int", "--internal", "--subnet", "10.236.0.0/24");
    await detached("--name", "nt-peer", "--network", "nt-int", "sleep", "60");
    await detached("--name", "nt-elsewhere", "sleep", "60"); // on the default bridge
    const other = await ipOf("nt-elsewhere");
    const r = await mydocker(["run", "--rm", "--network", "nt-int", "sh", "-c", `ping -c1 -W2 nt-peer >/dev/null && echo peer; ping -c1 -W1 ${other} >/dev/null 2>&1 || echo not-beyond`]);
    expect(r.stdout).toBe("peer\nnot-beyond\n");
    // the same address is reachable from the host: the drop is the network's, not a dead container
    expect(Bun.spawnSync([join(ROOTFS, "bin/busybox"), "ping", "-c1", "-W2", other], { stdout: "ignore" }).exitCode).toBe(0);
  }, T);
});

describe("published ports", () => {
  test("-p TCP answers on the host's loopback and own address; port, ps and inspect show it", async () => {
    await detached("--name", "nt-http", "-p", "127.0.0.1:18931:80", "-p", "18932:80", "sh", "-c", "echo served > /tmp/i; httpd -f -p 80 -h /tmp");
    await Bun.sleep(300);
    const hostAddr = (JSON.parse(sh(["ip", "-j", "-4", "route", "get", "1.1.1.1"]))[0]?.prefsrc as string | undefined) ?? "127.0.0.1";
    for (const url of ["http://127.0.0.1:18931/i", "http://127.0.0.1:18932/i", `http://${hostAddr}:18932/i`]) {
      const body = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
      expect(body).toBe("served\n");
    }
    expect((await mydocker(["port", "nt-http"])).stdout).toBe("80/tcp -> 127.0.0.1:18931\n80/tcp -> 0.0.0.0:18932\n");
    expect((await mydocker(["ps", "--format", "{{.Ports}}", "-f", "name=nt-http"])).stdout).toBe("127.0.0.1:18931->80/tcp, 0.0.0.0:18932->80/tcp\n");
    const bindings = JSON.parse((await mydocker(["inspect", "-f", "{{json .NetworkSettings.Ports}}", "nt-http"])).stdout);
    expect(bindings).toEqual({ "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "18931" }, { HostIp: "0.0.0.0", HostPort: "18932" }] });
    // a container reaches a published port through the host's address too (hairpin)
    const hairpin = await mydocker(["run", "--rm", "sh", "-c", `wget -q -O- http://${hostAddr}:18932/i`]);
    expect(hairpin.stdout).toBe("served\n");
    // the port is taken: a second container may not have it
    const again = await mydocker(["run", "--rm", "-p", "18932:80", "true"]);
    expect(again.code).toBe(125);
    expect(again.stderr).toBe("mydocker: error: Bind for 0.0.0.0:18932 failed: port is already allocated\n");
  }, T);

  test("-p UDP: a datagram from the host reaches the container and its answer comes back", async () => {
    const probe = probeBinary();
    await detached("--name", "nt-udp", "-p", "127.0.0.1:18933:7000/udp", "-v", `${probe}:/probe:ro`, "/probe", "udp-echo", "7000");
    await Bun.sleep(300);
    const answer = await new Promise<string>(async (resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no answer")), 5000);
      const sock = await Bun.udpSocket({
        socket: {
          data(s, buf) {
            clearTimeout(timer);
            s.close();
            resolve(Buffer.from(buf).toString());
          },
        },
      });
      sock.send("over-udp", 18933, "127.0.0.1");
    });
    expect(answer).toBe("over-udp");
    expect((await mydocker(["logs", "nt-udp"])).stdout).toBe("ok over-udp\n");
  }, T);

  test("-p with ranges publishes each port of the range", async () => {
    await detached("--name", "nt-range", "-p", "127.0.0.1:18936-18937:80-81", "sh", "-c", "echo a > /tmp/i; httpd -p 80 -h /tmp; httpd -f -p 81 -h /tmp");
    await Bun.sleep(300);
    expect((await mydocker(["port", "nt-range"])).stdout).toBe("80/tcp -> 127.0.0.1:18936\n81/tcp -> 127.0.0.1:18937\n");
    for (const port of [18936, 18937]) expect(await (await fetch(`http://127.0.0.1:${port}/i`, { signal: AbortSignal.timeout(5000) })).text()).toBe("a\n");
  }, T);

  test("-P publishes --expose ports on free host ports", async () => {
    await detached("--name", "nt-all", "-P", "--expose", "8080", "--expose", "9000-9001/udp", "sleep", "60");
    const out = lines((await mydocker(["port", "nt-all"])).stdout);
    expect(out.map((l) => l.split(" -> ")[0])).toEqual(["8080/tcp", "9000/udp", "9001/udp"]);
    for (const l of out) expect(Number(l.split(":").pop())).toBeGreaterThan(1023);
  }, T);

  test("-p adds its rules to the table as it stands; a table someone deleted is made again whole", async () => {
    const table = nftTableName(TEST_DATA_ROOT);
    await detached("--name", "pub1", "-p", "18936:80", "sleep", "60");
    expect(sh(["nft", "list", "table", "ip", table])).toContain("tcp dport 18936 dnat to");
    // a firewall reload that flushed everything: the next start publishes on a complete table
    Bun.spawnSync(["nft", "delete", "table", "ip", table]);
    await detached("--name", "pub2", "-p", "18937:80", "sleep", "60");
    const now = sh(["nft", "list", "table", "ip", table]);
    for (const rule of ["tcp dport 18936 dnat to", "tcp dport 18937 dnat to", "masquerade", "ip daddr 127.0.0.0/8 drop", "ct state established,related accept"]) expect(now).toContain(rule);
  }, T);

  test("bad -p values: one line, 125, nothing left", async () => {
    const before = (await mydocker(["ps", "-aq"])).stdout;
    for (const bad of ["0:80", "80:", "1.2.3:80:80", "80/sctp", "70000", "9-8:1-2", "a:b"]) {
      const r = await mydocker(["run", "--rm", "-p", bad, "true"]);
      expect(r.code).toBe(125);
      expect(lines(r.stderr)).toHaveLength(1);
    }
    expect((await mydocker(["run", "--rm", "--network", "none", "-p", "80:80", "true"])).code).toBe(125);
    expect((await mydocker(["ps", "-aq"])).stdout).toBe(before); // no record left of any of them
  }, T);
});

describe("the host's own services", () => {
  test("a container cannot reach the host's loopback through the gateway (route_localnet, CVE-2020-8558)", async () => {
    const [bridge] = JSON.parse((await mydocker(["network", "inspect", "bridge"])).stdout);
    const name = bridge.Options["com.docker.network.bridge.name"] as string;
    const gateway = bridge.IPAM.Config[0].Gateway as string;
    const mac = readFileSync(`/sys/class/net/${name}/address`, "utf8").trim(); // fixed at creation (02:42 + the gateway's address)
    expect(mac).toBe(`02:42:${gateway.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join(":")}`);
    const got: string[] = [];
    const sock = await Bun.udpSocket({ hostname: "0.0.0.0", port: 18939, socket: { data: (_s, buf) => void got.push(Buffer.from(buf).toString()) } });
    try {
      const probe = probeBinary();
      // the same hand-made frame twice: to 127.0.0.1 (must be dropped) and to the gateway's address (the control: it arrives)
      const r = await mydocker(["run", "--rm", "-v", `${probe}:/probe:ro`, "sh", "-c", `/probe udp-raw eth0 ${mac} 127.0.0.1 18939 via-loopback; /probe udp-raw eth0 ${mac} ${gateway} 18939 via-gateway`]);
      expect(r.stdout).toBe("ok\nok\n");
      for (let i = 0; i < 50 && got.length === 0; i++) await Bun.sleep(20);
      await Bun.sleep(200);
      expect(got).toEqual(["via-gateway"]);
    } finally {
      sock.close();
    }
  }, T);
});

describe("teardown", () => {
  test("kill -9 of mydocker after the veth pair was made: the next command releases everything", async () => {
    const env = { ...testEnv(), MYDOCKER_FAULT: "network:after-veth" };
    const p = Bun.spawn([MYDOCKER, "run", "--name", "nt-killed", "-p", "18934:80", "sleep", "60"], { env, stdout: "pipe", stderr: "pipe" });
    expect(await p.exited).toBe(137);
    // the store still holds its address and port until somebody notices
    const held = hostNetwork();
    expect(held.ports).toHaveLength(1);
    const ps = await mydocker(["ps", "-a", "--filter", "name=nt-killed", "--format", "{{.Names}} {{.State}}"]);
    expect(ps.stdout).toBe("nt-killed exited\n");
    expect(hostNetwork().ports).toEqual([]);
    made.push("nt-killed");
  }, T);

  test("--rm: its address, ports and rules are given back when run returns; its veth pair goes with its namespace", async () => {
    const r = await mydocker(["run", "--rm", "-p", "18935:80", "true"]);
    expect(r.code).toBe(0);
    const now = hostNetwork();
    expect(now.ports).toEqual([]);
    expect(now.networks).toEqual(before.networks);
    expect(now.table).toEqual(before.table);
    // the kernel destroys a dead namespace's devices from a work queue (the pair within
    // milliseconds): afterEach waits for the links to be as before
  }, T);

  test("a container whose namespace another one shares: its veth pair is deleted at its exit", async () => {
    const ownerId = await detached("--name", "nsowner", "sleep", "60");
    const veth = (JSON.parse(sh(["ip", "-j", "link"])) as { ifname: string }[]).find((l) => l.ifname === hostVethName(ownerId, 0));
    expect(veth).toBeDefined();
    await detached("--name", "nsguest", "--network", "container:nsowner", "sleep", "60");
    expect((await mydocker(["kill", "nsowner"])).code).toBe(0);
    // nsguest keeps the namespace alive, so the kernel would not take the pair: mydocker must
    for (let i = 0; i < 250 && sh(["ip", "-j", "link"]).includes(`"${veth!.ifname}"`); i++) await Bun.sleep(20);
    expect(sh(["ip", "-j", "link"])).not.toContain(`"${veth!.ifname}"`);
    const inside = await mydocker(["exec", "nsguest", "ip", "-o", "link"]);
    expect(inside.stdout).not.toContain("eth0");
    expect(inside.stdout).toContain("lo:");
  }, T);
});
