// The host-wide part of a test data root's networks (its bridges, its nftables table, and
// ip_forward when mydocker turned it on): removed before the data root itself is deleted. Uses
// the system's own tools and the root's store file, so no global state of the test process moves.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nftTableName, type NetworkFile } from "../src/network/store";

export function dismantleTestNetworks(dataRoot: string): void {
  const file = join(dataRoot, "networks.json");
  if (!existsSync(file)) return;
  const f = JSON.parse(readFileSync(file, "utf8")) as NetworkFile;
  Bun.spawnSync(["nft", "delete", "table", "ip", nftTableName(dataRoot)], { stderr: "ignore" });
  for (const n of f.networks) Bun.spawnSync(["ip", "link", "del", n.bridge], { stderr: "ignore" });
  if (f.ipForwardWas === "0") writeFileSync("/proc/sys/net/ipv4/ip_forward", "0");
  writeFileSync(file, JSON.stringify({ networks: [], ports: [] }));
}

/** The same for every `<dir>/<x>/data` (and `<dir>/<x>/data` one level down) under a scratch dir. */
export function dismantleUnder(scratch: string): void {
  if (!existsSync(scratch)) return;
  for (const x of readdirSync(scratch)) {
    const data = join(scratch, x, "data");
    if (existsSync(data)) dismantleTestNetworks(data);
  }
}
