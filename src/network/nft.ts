// Address translation and filtering for bridge networks, in one nftables table of mydocker's own
// (`ip mydocker`, see store.ts for other data roots), rebuilt whole from the store in one
// transaction whenever networks or published ports change: what is in the kernel is always
// exactly what the store says, and removing everything is deleting the table.
//
// Why the `nft` binary and not netlink: nf_tables' netlink messages encode rules as expression
// bytecode (registers, payload offsets, set ids) in batches; libnftables is that compiler. Writing
// it again in TypeScript would be thousands of lines for a step that runs only when a network is
// made or removed, or a container publishes ports — never on the start path of a container
// without `-p`. (Debian's `nftables` package.)
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { NetworkFile, PortBinding } from "./store";
import { nftTableName } from "./store";

const q = (s: string) => JSON.stringify(s); // nft quotes strings like JSON

/** The whole table for `f`, or undefined when it should not exist. */
export function renderTable(f: NetworkFile): string | undefined {
  if (f.networks.length === 0 && f.ports.length === 0) return undefined;
  const t = nftTableName();
  const bridges = f.networks.map((n) => n.bridge);
  const lines = [`table ip ${t} {`];
  // Published ports: traffic to one of the host's own addresses, from outside (prerouting) or
  // from the host itself (output), is sent on to the container's address and port.
  lines.push(
    "  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;", "    fib daddr type local jump publish", "  }",
    "  chain output {", "    type nat hook output priority -100; policy accept;", "    fib daddr type local jump publish", "  }",
    "  chain publish {",
  );
  for (const p of f.ports) lines.push(`    ${publishRule(p)}`);
  lines.push("  }", "  chain postrouting {", "    type nat hook postrouting priority srcnat; policy accept;");
  for (const n of f.networks) {
    // out of a non-internal network to anywhere else: the host's address (masquerade)
    if (!n.internal) lines.push(`    ip saddr ${n.subnet} oifname != ${q(n.bridge)} masquerade`);
    // the host's own loopback to a published port (route_localnet is set on the bridge), and a
    // container to a published port of its own network (hairpin): answers must come back through us
    lines.push(`    oifname ${q(n.bridge)} ip saddr 127.0.0.0/8 masquerade`);
    lines.push(`    oifname ${q(n.bridge)} ip saddr ${n.subnet} ct status dnat masquerade`);
  }
  // route_localnet (set on our bridges so that the host's 127.0.0.1 reaches published ports)
  // would also let a container reach the host's loopback-only services by sending to 127.0.0.1
  // through the gateway (CVE-2020-8558): nothing from a bridge may be addressed to 127.0.0.0/8.
  // (Answers to the host's own DNAT'd connections come addressed to the gateway before un-NAT.)
  if (bridges.length) {
    lines.push("  }", "  chain raw_prerouting {", "    type filter hook prerouting priority raw; policy accept;");
    lines.push(`    iifname { ${bridges.map(q).join(", ")} } ip daddr 127.0.0.0/8 drop`);
  }
  lines.push("  }", "  chain forward {", "    type filter hook forward priority filter; policy accept;");
  for (const n of f.networks) {
    // into a container only what it asked for: answers, published ports, its own network
    lines.push(
      `    oifname ${q(n.bridge)} ct state established,related accept`,
      `    oifname ${q(n.bridge)} ct status dnat accept`,
      `    oifname ${q(n.bridge)} iifname ${q(n.bridge)} accept`,
      `    oifname ${q(n.bridge)} drop`,
    );
  }
  for (const n of f.networks) {
    const others = bridges.filter((b) => b !== n.bridge);
    // networks are isolated from each other, as docker's are
    if (others.length) lines.push(`    iifname ${q(n.bridge)} oifname { ${others.map(q).join(", ")} } drop`);
    // an internal network reaches nothing beyond its bridge, and nothing beyond reaches it
    if (n.internal) lines.push(`    iifname ${q(n.bridge)} oifname != ${q(n.bridge)} drop`, `    oifname ${q(n.bridge)} iifname != ${q(n.bridge)} drop`);
  }
  lines.push("  }", "}");
  return lines.join("\n") + "\n";
}

/** A published port: to the host (on its address, when one was given) -> the container's. */
function publishRule(p: PortBinding): string {
  const host = p.hostIp ? `ip daddr ${p.hostIp} ` : "";
  return `${host}${p.proto} dport ${p.hostPort} dnat to ${p.ip}:${p.containerPort} comment ${q(p.container.slice(0, 12))}`;
}

/**
 * A start's own published ports, added to the table as it stands: rules added only, which the
 * kernel commits at once, where a rebuild also deletes (every deletion waits for an RCU grace
 * period, ~15-20 ms measured here). False when nft refused (the table is gone: someone flushed
 * the ruleset); the caller rebuilds it whole then.
 */
export function addPublishRules(ports: PortBinding[]): boolean {
  const t = nftTableName();
  const script = ports.map((p) => `add rule ip ${t} publish ${publishRule(p)}\n`).join("");
  return runNft(script).exitCode === 0;
}

const runNft = (script: string) => Bun.spawnSync(["nft", "-f", "-"], { stdin: Buffer.from(script), stdout: "pipe", stderr: "pipe", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });

/**
 * Makes the kernel's table match `f` in one `nft -f -` transaction: (re)declare the table, delete
 * it, then add it as rendered (an empty store leaves no table). Throws with nft's message.
 */
export function applyTable(f: NetworkFile): string | undefined {
  const t = nftTableName();
  const body = renderTable(f);
  const script = `table ip ${t}\ndelete table ip ${t}\n${body ?? ""}`;
  const r = runNft(script);
  if (r.exitCode !== 0) throw new Error(`nft: ${r.stderr.toString().trim().split("\n")[0] || `exit ${r.exitCode}`}`);
  f.tableGeneration = (f.tableGeneration ?? 0) + 1;
  return setForwarding(f);
}

const FORWARD = "/proc/sys/net/ipv4/ip_forward";

/**
 * Containers on a non-internal network reach beyond the host only when the host forwards IPv4.
 * Turned on when the first such network exists, and put back as it was when the last one goes.
 * Returns what was changed, for the caller to say.
 */
function setForwarding(f: NetworkFile): string | undefined {
  if (!existsSync(FORWARD)) return undefined;
  const needed = f.networks.some((n) => !n.internal);
  const now = readFileSync(FORWARD, "utf8").trim();
  if (needed && now === "0") {
    writeFileSync(FORWARD, "1");
    f.ipForwardWas = "0";
    return "net.ipv4.ip_forward was 0: set to 1 so that containers on bridge networks reach beyond this host (put back when the last network goes)";
  } else if (!needed && f.ipForwardWas === "0") {
    writeFileSync(FORWARD, "0");
    delete f.ipForwardWas;
    return "net.ipv4.ip_forward put back to 0";
  }
  return undefined;
}
