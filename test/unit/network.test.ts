// The pure parts of networking: address arithmetic, -p parsing, resolv.conf, the nftables table
// text. The kernel-facing parts are exercised by test/e2e/network.test.ts.
import { describe, expect, test } from "bun:test";
import { assignable, defaultSubnets, formatSubnet, intToIp, ipToInt, macFor, nextFree, overlaps, parseSubnet } from "../../src/network/ipam";
import { exposedPorts, formatBinding, parsePublish } from "../../src/network/ports";
import { resolvConf } from "../../src/network/etc-files";
import { renderTable } from "../../src/network/nft";
import type { NetworkFile } from "../../src/network/store";
import { UsageError } from "../../src/errors";

describe("ipam", () => {
  test("CIDRs: host bits and prefixes are checked", () => {
    expect(formatSubnet(parseSubnet("172.18.0.0/16"))).toBe("172.18.0.0/16");
    expect(() => parseSubnet("172.18.0.1/16")).toThrow("host bits set (did you mean 172.18.0.0/16?)");
    for (const bad of ["172.18.0.0", "172.18.0.0/33", "300.1.1.0/24", "10.0.0.0/31", "a/8"]) expect(() => parseSubnet(bad)).toThrow(UsageError);
  });

  test("network, broadcast and gateway are never handed out; the lowest free address is", () => {
    const s = parseSubnet("10.0.0.0/29");
    const gw = ipToInt("10.0.0.1");
    expect(intToIp(nextFree(s, gw, new Set())!)).toBe("10.0.0.2");
    const taken = new Set(["10.0.0.2", "10.0.0.3", "10.0.0.5"].map(ipToInt));
    expect(intToIp(nextFree(s, gw, taken)!)).toBe("10.0.0.4");
    taken.add(ipToInt("10.0.0.4")).add(ipToInt("10.0.0.6"));
    expect(nextFree(s, gw, taken)).toBeUndefined(); // .7 is the broadcast
    expect([0, 1, 7, 8].map((h) => assignable(s, gw, ipToInt(`10.0.0.${h}`)))).toEqual([false, false, false, false]);
    expect(assignable(s, gw, ipToInt("10.0.0.6"))).toBe(true);
  });

  test("docker's default pools in its order, overlap, and docker's MAC from the address", () => {
    const pools = [...defaultSubnets()].map(formatSubnet);
    expect(pools.slice(0, 2)).toEqual(["172.17.0.0/16", "172.18.0.0/16"]);
    expect(pools[15]).toBe("192.168.0.0/20");
    expect(overlaps(parseSubnet("10.0.0.0/8"), parseSubnet("10.1.2.0/24"))).toBe(true);
    expect(overlaps(parseSubnet("10.0.0.0/24"), parseSubnet("10.0.1.0/24"))).toBe(false);
    expect(macFor(ipToInt("172.17.0.2"))).toBe("02:42:ac:11:00:02");
  });
});

describe("-p", () => {
  test("docker's forms, ranges expanded", () => {
    expect(parsePublish("80")).toEqual([{ hostIp: "", hostPort: 0, containerPort: 80, proto: "tcp" }]);
    expect(parsePublish("8080:80/udp")).toEqual([{ hostIp: "", hostPort: 8080, containerPort: 80, proto: "udp" }]);
    expect(parsePublish("127.0.0.1:8080:80")).toEqual([{ hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "tcp" }]);
    expect(parsePublish("127.0.0.1::80")).toEqual([{ hostIp: "127.0.0.1", hostPort: 0, containerPort: 80, proto: "tcp" }]);
    expect(parsePublish("0.0.0.0:9000-9001:80-81").map(formatBinding)).toEqual(["0.0.0.0:9000->80/tcp", "0.0.0.0:9001->81/tcp"]);
    for (const bad of ["0:80", "80:", "1.2.3:80:80", "80/sctp", "70000", "9-8:1-2", "1-3:1-2", "a:b", ":"]) expect(() => parsePublish(bad)).toThrow(UsageError);
  });

  test("exposed ports and ranges", () => {
    expect(exposedPorts(["80/tcp", "53/udp", "9000-9001"])).toEqual([
      { port: 80, proto: "tcp" }, { port: 53, proto: "udp" }, { port: 9000, proto: "tcp" }, { port: 9001, proto: "tcp" },
    ]);
  });
});

describe("resolv.conf", () => {
  const host = "# generated\nsearch corp.example\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\noptions edns0\n";
  test("the host's, without loopback resolvers", () => {
    expect(resolvConf(host, { dns: [], dnsSearch: [] })).toBe("# generated\nsearch corp.example\noptions edns0\nnameserver 10.0.0.2\n");
  });
  test("--dns and --dns-search replace those lines", () => {
    expect(resolvConf(host, { dns: ["10.9.9.9"], dnsSearch: ["a.test", "b.test"] })).toBe("search a.test b.test\n# generated\noptions edns0\nnameserver 10.9.9.9\n");
  });
  test("only loopback resolvers on the host: docker's defaults", () => {
    expect(resolvConf("nameserver 127.0.0.53\n", { dns: [], dnsSearch: [] })).toBe("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  });
});

describe("the nftables table", () => {
  const net = (name: string, bridge: string, subnet: string, internal = false) => ({ id: name, name, driver: "bridge" as const, subnet, gateway: "", bridge, internal, created: "", labels: {}, endpoints: {} });
  test("no networks, no ports: no table at all", () => {
    expect(renderTable({ networks: [], ports: [] })).toBeUndefined();
  });
  test("ports, masquerade, isolation and internal networks", () => {
    const f: NetworkFile = {
      networks: [net("a", "br-a", "10.1.0.0/24"), net("b", "br-b", "10.2.0.0/24", true)],
      ports: [{ container: "c".repeat(64), hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "tcp", ip: "10.1.0.2" }, { container: "d".repeat(64), hostIp: "", hostPort: 53, containerPort: 5353, proto: "udp", ip: "10.1.0.3" }],
    };
    const t = renderTable(f)!;
    expect(t).toContain(`ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.1.0.2:80 comment "cccccccccccc"`);
    expect(t).toContain(`    udp dport 53 dnat to 10.1.0.3:5353 comment "dddddddddddd"`);
    expect(t).toContain(`ip saddr 10.1.0.0/24 oifname != "br-a" masquerade`);
    expect(t).not.toContain(`ip saddr 10.2.0.0/24 oifname != "br-b" masquerade`); // internal: no way out
    expect(t).toContain(`iifname "br-a" oifname { "br-b" } drop`);
    expect(t).toContain(`iifname "br-b" oifname != "br-b" drop`);
    expect(t.match(/fib daddr type local jump publish/g)).toHaveLength(2); // prerouting and output
    // no container reaches the host's loopback through route_localnet (CVE-2020-8558)
    expect(t).toContain(`type filter hook prerouting priority raw; policy accept;\n    iifname { "br-a", "br-b" } ip daddr 127.0.0.0/8 drop`);
    // into a bridge only answers, published ports and its own network's traffic
    expect(t).toContain(`    oifname "br-a" ct state established,related accept\n    oifname "br-a" ct status dnat accept\n    oifname "br-a" iifname "br-a" accept\n    oifname "br-a" drop`);
  });
});
