// What ps and inspect show of a container's network, in docker's shapes.
import type { ContainerState } from "../state/store";
import { formatBinding } from "./ports";

const running = (s: ContainerState) => s.status === "running" || s.status === "paused";

/** HostConfig.NetworkMode: "bridge" (the default network), a network's name, "host", "none", "container:ID". */
export function networkMode(s: ContainerState): string {
  const r = s.network?.request;
  if (!r) return "none";
  if (r.mode === "container") return `container:${r.container}`;
  return r.mode === "bridge" ? r.network ?? "bridge" : r.mode;
}

/** ps's NETWORKS: the networks it is on now (while running), else the one it asked for. */
export function networkNames(s: ContainerState): string {
  const attached = running(s) ? (s.network?.attachments ?? []).map((a) => a.network) : [];
  return attached.length ? attached.join(",") : networkMode(s);
}

export const portsColumn = (s: ContainerState) => (running(s) ? (s.network?.ports ?? []).map(formatBinding).join(", ") : "");

/** inspect's NetworkSettings. */
export function networkSettings(s: ContainerState) {
  const atts = running(s) ? s.network?.attachments ?? [] : [];
  const first = atts[0];
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const e of s.network?.request.expose ?? []) ports[e.includes("/") ? e : `${e}/tcp`] = null;
  for (const b of running(s) ? s.network?.ports ?? [] : []) (ports[`${b.containerPort}/${b.proto}`] ??= [])!.push({ HostIp: b.hostIp || "0.0.0.0", HostPort: String(b.hostPort) });
  return {
    Bridge: "",
    SandboxKey: running(s) && s.pid ? `/proc/${s.pid}/ns/net` : "",
    Ports: ports,
    Gateway: first?.gateway ?? "",
    IPAddress: first?.ip ?? "",
    IPPrefixLen: first?.prefix ?? 0,
    MacAddress: first?.mac ?? "",
    Networks: Object.fromEntries(
      atts.map((a) => [a.network, { Aliases: s.network?.request.aliases.length ? s.network.request.aliases : null, NetworkID: a.networkId, EndpointID: a.hostVeth, Gateway: a.gateway, IPAddress: a.ip, IPPrefixLen: a.prefix, MacAddress: a.mac }]),
    ),
  };
}
