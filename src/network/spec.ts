// From `run`'s network flags to the container's config and record: which network namespace it
// gets (a new one, the host's, or another container's), its /etc files as bind mounts, and the
// request that each start carries out (attach.ts).
import { hostname as hostHostname } from "node:os";
import { UsageError } from "../errors";
import type { OptionValues } from "../cli/argv";
import type { Spec } from "../spec";
import { findLive } from "../state/live";
import { shortId } from "../ids";
import type { ContainerNetwork } from "./attach";
import { etcMounts } from "./etc-files";
import { networkRequest } from "./options";

/** Changes `spec` for the network flags of `o` and returns what to record. Touches nothing else. */
export function networkFromOptions(id: string, o: OptionValues, spec: Spec, image?: { ExposedPorts?: Record<string, unknown> }): ContainerNetwork {
  let sharedHostname: string | undefined;
  const request = networkRequest(o, (ref) => {
    const other = findLive(ref);
    if (other.status !== "running" && other.status !== "paused") throw new UsageError(`cannot join network of a non running container: ${ref}`);
    if (!other.network) throw new UsageError(`cannot join network of container ${ref}: it was made before mydocker had networks`);
    sharedHostname = other.network.hostname;
    return other.id;
  });
  request.expose = [...Object.keys(image?.ExposedPorts ?? {}), ...request.expose];
  const namespaces = spec.linux.namespaces.filter((n) => n.type !== "network");
  if (request.mode === "none" || request.mode === "bridge") namespaces.push({ type: "network" });
  if (request.mode === "container") {
    const other = findLive(request.container!);
    namespaces.push({ type: "network", path: `/proc/${other.pid}/ns/net` });
  }
  spec.linux.namespaces = namespaces;
  // docker's hostnames: the host's with --network host, the other container's with container:
  if (o.hostname === undefined) spec.hostname = request.mode === "host" ? hostHostname() : sharedHostname ?? spec.hostname ?? shortId(id);
  spec.mounts.push(...etcMounts(id, request));
  return { request, hostname: spec.hostname ?? shortId(id) };
}

/**
 * `--network container:X` at each start: X's network namespace as it is now (its init's pid
 * changes when X restarts; a pid recorded at create could name another process by then).
 */
export function withSharedNetwork(state: { network?: ContainerNetwork }, spec: Spec): Spec {
  const req = state.network?.request;
  if (req?.mode !== "container") return spec;
  const other = findLive(req.container!);
  if ((other.status !== "running" && other.status !== "paused") || !other.pid) throw new UsageError(`cannot join network of a non running container: ${other.name}`);
  const namespaces = spec.linux.namespaces.map((n) => (n.type === "network" ? { type: "network" as const, path: `/proc/${other.pid}/ns/net` } : n));
  return { ...spec, linux: { ...spec.linux, namespaces } };
}
