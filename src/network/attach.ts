// A container's place on its networks, at each start and at its end:
//
//   prepareNetwork  (while the init's Bun starts, before its orders) its three /etc files, which
//                   the init bind-mounts; on a bridge without its address yet
//   plan.wire       (right after the orders, while the init makes its root) an address on the
//                   network and host ports from the store, /etc/hosts rewritten in place, the
//                   rules when it publishes ports (recorded in its state with its start); then the
//                   veth pair: the host end on the bridge, the container end made inside the
//                   init's new network namespace as eth0, then its address, link state and
//                   default route set from a netlink socket made in that namespace
//   releaseNetwork  (at its end, also by whoever finishes an orphan) all of it given back
//
// Every name a container gets on the host derives from its id (veth<id:10><n>), so a teardown
// finds it even when the record of it was never written.
import { closeSync, openSync } from "node:fs";
import { RouteSocket, linkIndex } from "../../ffi/netlink";
import { inNetworkNamespace } from "../../ffi/namespaces";
import { UsageError } from "../errors";
import { listStates, readState, updateState, type ContainerState } from "../state/store";
import { isOrphaned } from "../state/live";
import { step } from "../trace";
import { faultPoint } from "../fault";
import { refreshPeers, writeEtcFiles } from "./etc-files";
import { assignable, broadcastOf, intToIp, ipToInt, macFor, nextFree, parseSubnet } from "./ipam";
import { addPublishRules, applyTable } from "./nft";
import { defaultNetworkNotice, ensureBridge } from "./networks";
import { log } from "../log";
import type { NetworkRequest } from "./options";
import { exposedPorts, freeHostPort, hostPortInUse } from "./ports";
import { findNetwork, readNetworks, withNetworks, type NetworkFile, type NetworkRecord, type PortBinding } from "./store";

/** One network interface of a running container. */
export interface Attachment {
  network: string;
  networkId: string;
  ip: string;
  prefix: number;
  gateway: string;
  mac: string;
  ifname: string;
  hostVeth: string;
  bridge: string;
}

export interface ContainerNetwork {
  request: NetworkRequest;
  hostname: string;
  /** filled at each start, emptied at its end */
  attachments?: Attachment[];
  ports?: PortBinding[];
}

export interface NetworkPlan {
  /** the init is born in a new network namespace, which `wire` connects after the orders went */
  newNamespace: boolean;
  wire?: (pid: number) => void;
  /** what to record in the container's state with its start (`network`) */
  record?: ContainerNetwork;
}

/** Is the container on a bridge network (its network namespace made and wired by the runtime)? */
export const usesBridge = (state: Pick<ContainerState, "network">) => state.network?.request.mode === "bridge";

export const hostVethName = (containerId: string, n: number) => `veth${containerId.slice(0, 10)}${n}`;

/** The /etc files now, the rest in the plan's `wire`: see the top of this file. Undone by releaseNetwork. */
export function prepareNetwork(state: ContainerState): NetworkPlan {
  const net = state.network;
  if (!net) return { newNamespace: false }; // a container recorded before networks existed: lo only
  const { request: req, hostname } = net;
  if (req.mode !== "bridge") {
    writeEtcFiles(state.id, hostname, req, []);
    return { newNamespace: false };
  }
  // the default network is made in a transaction of its own: a failure below must not undo it
  // in the store while its bridge stays
  if (req.network === "bridge" && !readNetworks().networks.some((n) => n.isDefault)) {
    const notice = withNetworks((f) => defaultNetworkNotice(f));
    if (notice) log().info(notice); // `info` says it too (IPv4 Forwarding)
  }
  // Before the orders only the three files the init bind-mounts, its address not yet in /etc/hosts:
  // the address, ports and veth pair come after the orders, while the init makes the root (it
  // waits for them before its command). The files are then rewritten in place: the init's bind
  // mounts hold their inodes.
  writeEtcFiles(state.id, hostname, req, []);
  const plan: NetworkPlan = {
    newNamespace: true,
    wire: (pid) => {
      const { attachment, ports } = step("network: an address and ports from the store, /etc/hosts in place", () => connect(state, net));
      plan.record = { ...net, attachments: [attachment], ports };
      wire(pid, [attachment], true);
    },
  };
  return plan;
}

/** Its address (IPAM) and published ports on its network, in the store then in the nftables table. */
function connect(state: ContainerState, net: ContainerNetwork): { attachment: Attachment; ports: ContainerNetwork["ports"] } {
  const { request: req, hostname } = net;
  const { attachment, ports, reclaimed, generation } = withNetworks((f) => {
    const reclaimed = reclaim(f);
    const n = findNetwork(f, req.network!);
    if (!n) throw new UsageError(`network ${req.network} not found`);
    ensureBridge(f, n);
    const attachment = allocate(n, state, req, 0);
    const ports = allocatePorts(f, state.id, req, attachment.ip);
    writeEtcFiles(state.id, hostname, req, [{ ip: attachment.ip, names: n.isDefault ? [] : [state.name, ...req.aliases] }], attachment.gateway);
    refreshPeers(f, [n.name]);
    return { attachment, ports, reclaimed, generation: f.tableGeneration };
  });
  // The rules follow the store, never lead it: had they gone in first, a kill right after would
  // leave a rule that no record names (the release of a container removes rules first, then its
  // record, for the same reason). Our ports alone are added to the table, unless it was rebuilt
  // since we took them (then it holds them already) or something else changed.
  if (reclaimed) withNetworks((f) => applyTable(f));
  else if (ports.length) {
    step("network: its published ports into the nftables table (nft -f -)", () =>
      withNetworks((f) => {
        if (f.tableGeneration !== generation || !addPublishRules(ports)) applyTable(f);
      }),
    );
  }
  return { attachment, ports };
}

/**
 * The veth pair of each attachment, made in one request with its container end created directly
 * in the namespace of `pid` under its final name; then, from inside that namespace, its address,
 * `up`, and (for the first) the default route via the gateway.
 */
function wire(pid: number, attachments: Attachment[], defaultRoute: boolean): void {
  const netns = openSync(`/proc/${pid}/ns/net`, "r");
  const host = new RouteSocket();
  try {
    for (const a of attachments) {
      if (!linkIndex(a.bridge)) throw new Error(`network ${a.network}: its bridge ${a.bridge} is gone`);
      step(`veth pair: ${a.hostVeth} on ${a.bridge}, ${a.ifname} in the container's network namespace (RTM_NEWLINK)`, () =>
        host.addVeth(a.hostVeth, { master: linkIndex(a.bridge), peer: a.ifname, peerNetns: netns, peerMac: a.mac }),
      );
    }
  } finally {
    host.close();
    closeSync(netns);
  }
  faultPoint("network:after-veth");
  inNetworkNamespace(`/proc/${pid}/ns/net`, () => {
    const inside = new RouteSocket();
    try {
      for (const a of attachments) {
        const index = linkIndex(a.ifname);
        step(`${a.ifname}: ip ${a.ip}/${a.prefix}, up${defaultRoute ? `, default via ${a.gateway}` : ""} (RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE)`, () => {
          inside.addAddress(index, a.ip, a.prefix, intToIp(broadcastOf(parseSubnet(`${intToIp(ipToInt(a.ip) & maskOf(a.prefix))}/${a.prefix}`))));
          inside.setUp(index);
          if (defaultRoute) inside.addDefaultRoute(a.gateway, index);
        });
        defaultRoute = false;
      }
    } finally {
      inside.close();
    }
  });
}

const maskOf = (prefix: number) => (0xffffffff << (32 - prefix)) >>> 0;

/**
 * Gives back the container's addresses, ports, rules and veth pairs, and updates its peers.
 * Idempotent. `namespaceDied`: the caller saw every process of the container end.
 */
export function releaseNetwork(state: Pick<ContainerState, "id" | "network">, namespaceDied = false): void {
  // (no network in the record: a broken record, or one made before networks; the store tells)
  if (state.network && state.network.request.mode !== "bridge") return;
  const veths: string[] = [];
  step("network: give back its address and ports (store), its peers' /etc/hosts", () => withNetworks((f) => {
    const left: string[] = [];
    for (const n of f.networks) {
      const e = n.endpoints[state.id];
      if (!e) continue;
      veths.push(e.hostVeth);
      delete n.endpoints[state.id];
      left.push(n.name);
    }
    const hadPorts = f.ports.some((p) => p.container === state.id);
    f.ports = f.ports.filter((p) => p.container !== state.id);
    if (hadPorts) applyTable(f);
    refreshPeers(f, left);
  }));
  for (const a of state.network?.attachments ?? []) if (!veths.includes(a.hostVeth)) veths.push(a.hostVeth);
  // The container's end lives in its network namespace, which dies with its last process: the
  // kernel then destroys the namespace's devices, and a veth's peer with it (veth(4)), in a work
  // queue shortly after. Deleting the pair here ourselves costs a synchronize_net (~20 ms) on the
  // exit path, so it is done only where the namespace may live on: another running container
  // joined it (--network container:), or the caller does not know (a broken record).
  if (veths.length && (!namespaceDied || namespaceSharedByOthers(state.id))) {
    const rs = new RouteSocket();
    try {
      for (const v of veths) if (linkIndex(v)) step(`network: delete ${v} (RTM_DELLINK; its peer goes with it)`, () => rs.deleteLink(v));
    } finally {
      rs.close();
    }
  }
}

/** Whether a running container other than `id` uses `id`'s network namespace (--network container:ID). */
function namespaceSharedByOthers(id: string): boolean {
  return listStates().some((s) => s.id !== id && s.status === "running" && s.network?.request.mode === "container" && s.network.request.container === id);
}

/**
 * Takes back what containers that are no longer running still hold: their record is gone, or
 * says they exited (their supervisor died before it could release them).
 */
export function reclaim(f: NetworkFile): boolean {
  // gone, exited, or orphaned: its start or its supervisor was killed (the next listing command
  // finishes it; until then its address and ports must not block anyone)
  const stale = (id: string) => {
    const s = readState(id);
    return !s || s.status === "exited" || s.status === "dead" || isOrphaned(s);
  };
  for (const n of f.networks) for (const id of Object.keys(n.endpoints)) if (stale(id)) delete n.endpoints[id];
  const ports = f.ports.length;
  f.ports = f.ports.filter((p) => !stale(p.container));
  return f.ports.length !== ports;
}

/** An address on `n` (the one asked for with --ip, else the lowest free one) and an endpoint record. */
function allocate(n: NetworkRecord, state: ContainerState, req: NetworkRequest, index: number): Attachment {
  const subnet = parseSubnet(n.subnet);
  const gateway = ipToInt(n.gateway);
  const taken = new Set(Object.values(n.endpoints).map((e) => ipToInt(e.ip)));
  let ip: number | undefined;
  if (req.ip) {
    ip = ipToInt(req.ip);
    if (!assignable(subnet, gateway, ip)) throw new UsageError(`invalid --ip ${req.ip}: not a free host address of ${n.name} (${n.subnet}, gateway ${n.gateway})`);
    if (taken.has(ip)) throw new UsageError(`Address already in use: ${req.ip} on network ${n.name}`);
  } else {
    ip = nextFree(subnet, gateway, taken);
    if (ip === undefined) throw new UsageError(`no available IPv4 addresses on network ${n.name} (${n.subnet})`);
  }
  const a: Attachment = {
    network: n.name,
    networkId: n.id,
    ip: intToIp(ip),
    prefix: subnet.prefix,
    gateway: n.gateway,
    mac: macFor(ip),
    ifname: `eth${index}`,
    hostVeth: hostVethName(state.id, index),
    bridge: n.bridge,
  };
  n.endpoints[state.id] = { container: state.id, name: state.name, hostname: state.network!.hostname, aliases: req.aliases, ip: a.ip, mac: a.mac, hostVeth: a.hostVeth, ifname: a.ifname };
  return a;
}

/** -p and -P: a host port for each (a free one where none was given), never one taken already. */
function allocatePorts(f: NetworkFile, id: string, req: NetworkRequest, ip: string): PortBinding[] {
  const wanted = [...req.ports];
  if (req.publishAll) {
    for (const e of exposedPorts(req.expose)) {
      if (!wanted.some((w) => w.containerPort === e.port && w.proto === e.proto)) wanted.push({ hostIp: "", hostPort: 0, containerPort: e.port, proto: e.proto });
    }
  }
  const out: PortBinding[] = [];
  for (const w of wanted) {
    const inUse = new Set([...f.ports, ...out].filter((p) => p.proto === w.proto).map((p) => p.hostPort));
    let hostPort = w.hostPort;
    if (hostPort === 0) hostPort = freeHostPort(w.proto, inUse);
    else {
      const clash = [...f.ports, ...out].some((p) => p.proto === w.proto && p.hostPort === hostPort && (!p.hostIp || !w.hostIp || p.hostIp === w.hostIp));
      if (clash || hostPortInUse(w.proto, hostPort)) throw new UsageError(`Bind for ${w.hostIp || "0.0.0.0"}:${hostPort} failed: port is already allocated`);
    }
    out.push({ container: id, hostIp: w.hostIp, hostPort, containerPort: w.containerPort, proto: w.proto, ip });
  }
  f.ports.push(...out);
  return out;
}

/** `network connect NET CONTAINER`: another interface (eth<n>) for a running container on a bridge. */
export function connectRunning(state: ContainerState, ref: string, opts: { ip?: string; aliases: string[] }): Attachment {
  const net = state.network;
  if (!net || net.request.mode !== "bridge") throw new UsageError(`container ${state.name} shares the network of ${net?.request.mode ?? "nothing"}: it cannot be connected to other networks`);
  if (state.status !== "running" || !state.pid) throw new UsageError(`container ${state.name} is not running: only running containers can be connected`);
  const attachment = withNetworks((f) => {
    if (reclaim(f)) applyTable(f);
    const n = findNetwork(f, ref);
    if (!n) throw new UsageError(`network ${ref} not found`);
    if (n.endpoints[state.id]) throw new UsageError(`endpoint with name ${state.name} already exists in network ${n.name}`);
    ensureBridge(f, n);
    const used = new Set(f.networks.flatMap((x) => (x.endpoints[state.id] ? [x.endpoints[state.id]!.ifname] : [])));
    let index = 0;
    while (used.has(`eth${index}`)) index++;
    const a = allocate(n, state, { ...net.request, ip: opts.ip, aliases: opts.aliases }, index);
    try {
      wire(state.pid!, [a], false);
    } catch (e) {
      delete n.endpoints[state.id];
      const rs = new RouteSocket();
      try {
        rs.deleteLink(a.hostVeth);
      } finally {
        rs.close();
      }
      throw e;
    }
    refreshPeers(f, [n.name]);
    return a;
  });
  updateState(state.id, (s) => ({ network: { ...s.network!, attachments: [...(s.network?.attachments ?? []), attachment] } }));
  return attachment;
}

/** `network disconnect NET CONTAINER`: its interface on NET goes (the pair with it), its address is free. */
export function disconnectRunning(state: ContainerState, ref: string): void {
  const gone = withNetworks((f) => {
    const n = findNetwork(f, ref);
    if (!n) throw new UsageError(`network ${ref} not found`);
    const e = n.endpoints[state.id];
    if (!e) throw new UsageError(`container ${state.name} is not connected to network ${n.name}`);
    delete n.endpoints[state.id];
    const rs = new RouteSocket();
    try {
      rs.deleteLink(e.hostVeth);
    } finally {
      rs.close();
    }
    const hadPorts = f.ports.some((p) => p.container === state.id && p.ip === e.ip);
    f.ports = f.ports.filter((p) => !(p.container === state.id && p.ip === e.ip));
    if (hadPorts) applyTable(f);
    refreshPeers(f, [n.name]);
    return n.name;
  });
  updateState(state.id, (s) => (s.network ? { network: { ...s.network, attachments: (s.network.attachments ?? []).filter((a) => a.network !== gone) } } : {}));
}
