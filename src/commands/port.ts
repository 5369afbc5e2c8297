// `mydocker port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports, as docker
// prints them ("80/tcp -> 0.0.0.0:8080").
import { defineCommand } from "citty";
import { UsageError } from "../cli/argv";
import { expectCount, parseArgs } from "./images/args";
import { findLive } from "../state/live";

export default defineCommand({
  meta: { name: "port", description: "List port mappings of a container" },
  args: { container: { type: "positional", required: true, description: "CONTAINER [PRIVATE_PORT[/PROTO]]" } },
  async run({ rawArgs }) {
    const { positionals } = parseArgs(rawArgs, {});
    expectCount("port", "CONTAINER [PRIVATE_PORT[/PROTO]]", positionals, 1, 2);
    const s = findLive(positionals[0]!);
    const running = s.status === "running" || s.status === "paused";
    let ports = running ? s.network?.ports ?? [] : [];
    if (positionals[1] !== undefined) {
      const [p, proto = "tcp"] = positionals[1].split("/");
      if (!/^\d+$/.test(p!) || (proto !== "tcp" && proto !== "udp")) throw new UsageError(`invalid port "${positionals[1]}": PORT[/tcp|udp]`);
      ports = ports.filter((b) => b.containerPort === Number(p) && b.proto === proto);
      if (ports.length === 0) throw new UsageError(`no public port '${p}/${proto}' published for ${positionals[0]}`);
      for (const b of ports) console.log(`${b.hostIp || "0.0.0.0"}:${b.hostPort}`);
      return;
    }
    for (const b of ports) console.log(`${b.containerPort}/${b.proto} -> ${b.hostIp || "0.0.0.0"}:${b.hostPort}`);
  },
});
