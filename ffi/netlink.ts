// rtnetlink(7): links, addresses and routes through a NETLINK_ROUTE socket, with the messages
// built by hand (netlink(7): struct nlmsghdr, then the family header, then rtattr(s) aligned to
// 4 bytes). One request at a time, each acknowledged (NLM_F_ACK): an error comes back as
// NLMSG_ERROR carrying -errno, thrown as `<what>: ERRNO`, like any other call in ffi/.
//
// A netlink socket works in the network namespace it was created in, for its whole life: the
// socket of a container's namespace is made by a thread that is in it for that moment (netns.ts).
import { SyscallError } from "./errno";
import { FFIType, check, cstr, lastErrno, libc } from "./libc";

const sym = libc({
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  if_nametoindex: { args: [FFIType.ptr], returns: FFIType.u32 },
});

const EINTR = 4;
const AF_NETLINK = 16;
const AF_UNSPEC = 0;
const AF_INET = 2;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
// <linux/netlink.h>
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
// <linux/rtnetlink.h>
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;
// <linux/if_link.h>, <linux/if_addr.h>, <linux/veth.h>
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;
const RTA_GATEWAY = 5;
const RTA_OIF = 4;
const IFF_UP = 0x1;

const NLMSG_HDRLEN = 16;
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const RTMSG_LEN = 12;
const align4 = (n: number) => (n + 3) & ~3;

/** One rtattr: u16 length, u16 type, the payload, padding to 4 bytes. */
function attr(type: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(align4(4 + payload.length));
  out.writeUInt16LE(4 + payload.length, 0);
  out.writeUInt16LE(type, 2);
  out.set(payload, 4);
  return out;
}
const nested = (type: number, ...children: Buffer[]) => attr(type, Buffer.concat(children));
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const ipv4 = (ip: string) => Buffer.from(ip.split(".").map(Number));
const mac = (m: string) => Buffer.from(m.split(":").map((h) => parseInt(h, 16)));

/** struct ifinfomsg { u8 family, pad; u16 type; i32 index; u32 flags, change; } */
function ifinfomsg(index = 0, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(AF_UNSPEC, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

/** The index of the link called `name` in the calling thread's network namespace, or 0. */
export function linkIndex(name: string): number {
  return sym().if_nametoindex(cstr(name));
}

/** A NETLINK_ROUTE socket of the calling thread's network namespace. */
export class RouteSocket {
  private readonly fd: number;
  private seq = 0;
  private readonly reply = Buffer.alloc(8192);

  constructor() {
    this.fd = check("socket(AF_NETLINK, NETLINK_ROUTE)", sym().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  }

  close(): void {
    sym().close(this.fd);
  }

  /**
   * `ip link add NAME address MAC type bridge` (then up). A bridge given no address takes the
   * lowest of its ports' and changes as ports come and go, leaving its containers with a stale
   * gateway in their ARP caches; a fixed one never changes.
   */
  addBridge(name: string, address: string): void {
    this.request(`RTM_NEWLINK bridge ${name}`, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifinfomsg(0, IFF_UP, IFF_UP), [
      attr(IFLA_IFNAME, cstr(name)),
      attr(IFLA_ADDRESS, mac(address)),
      nested(IFLA_LINKINFO, attr(IFLA_INFO_KIND, cstr("bridge"))),
    ]);
  }

  /**
   * A veth pair (veth(4)) made in one request: `host` here, attached to `master` and up; the peer
   * created directly inside the network namespace `peerNetns` (an fd) under its final name
   * (`eth0`), with `peerMac`, so no name of it ever exists on the host.
   */
  addVeth(host: string, opts: { master: number; peer: string; peerNetns: number; peerMac?: string; mtu?: number }): void {
    const peerAttrs = [attr(IFLA_IFNAME, cstr(opts.peer)), attr(IFLA_NET_NS_FD, u32(opts.peerNetns))];
    if (opts.peerMac) peerAttrs.push(attr(IFLA_ADDRESS, mac(opts.peerMac)));
    if (opts.mtu) peerAttrs.push(attr(IFLA_MTU, u32(opts.mtu)));
    const hostAttrs = [attr(IFLA_IFNAME, cstr(host)), attr(IFLA_MASTER, u32(opts.master))];
    if (opts.mtu) hostAttrs.push(attr(IFLA_MTU, u32(opts.mtu)));
    this.request(`RTM_NEWLINK veth ${host}`, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifinfomsg(0, IFF_UP, IFF_UP), [
      ...hostAttrs,
      nested(IFLA_LINKINFO, attr(IFLA_INFO_KIND, cstr("veth")), nested(IFLA_INFO_DATA, nested(VETH_INFO_PEER, ifinfomsg(), ...peerAttrs))),
    ]);
  }

  /** `ip link set NAME up` (by index). */
  setUp(index: number): void {
    this.request(`RTM_NEWLINK up ${index}`, RTM_NEWLINK, 0, ifinfomsg(index, IFF_UP, IFF_UP), []);
  }

  /** `ip link del NAME`; false when there was no such link. */
  deleteLink(name: string): boolean {
    try {
      this.request(`RTM_DELLINK ${name}`, RTM_DELLINK, 0, ifinfomsg(), [attr(IFLA_IFNAME, cstr(name))]);
      return true;
    } catch (e) {
      if (e instanceof SyscallError && (e.code === "ENODEV" || e.errno === 19)) return false;
      throw e;
    }
  }

  /** `ip addr add IP/PREFIX brd + dev INDEX`. */
  addAddress(index: number, ip: string, prefix: number, broadcast?: string): void {
    const msg = Buffer.alloc(IFADDRMSG_LEN); // struct ifaddrmsg { u8 family, prefixlen, flags, scope; u32 index; }
    msg.writeUInt8(AF_INET, 0);
    msg.writeUInt8(prefix, 1);
    msg.writeUInt8(RT_SCOPE_UNIVERSE, 3);
    msg.writeUInt32LE(index, 4);
    const attrs = [attr(IFA_LOCAL, ipv4(ip)), attr(IFA_ADDRESS, ipv4(ip))];
    if (broadcast) attrs.push(attr(IFA_BROADCAST, ipv4(broadcast)));
    this.request(`RTM_NEWADDR ${ip}/${prefix}`, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, msg, attrs);
  }

  /** `ip route add default via GATEWAY dev INDEX`. */
  addDefaultRoute(gateway: string, index: number): void {
    const msg = Buffer.alloc(RTMSG_LEN); // struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; }
    msg.writeUInt8(AF_INET, 0);
    msg.writeUInt8(RT_TABLE_MAIN, 4);
    msg.writeUInt8(RTPROT_BOOT, 5);
    msg.writeUInt8(RT_SCOPE_UNIVERSE, 6);
    msg.writeUInt8(RTN_UNICAST, 7);
    this.request(`RTM_NEWROUTE default via ${gateway}`, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, msg, [attr(RTA_GATEWAY, ipv4(gateway)), attr(RTA_OIF, u32(index))]);
  }

  /** Sends one request and waits for its acknowledgement; a negative error in it is thrown. */
  private request(what: string, type: number, flags: number, header: Buffer, attrs: Buffer[]): void {
    const body = Buffer.concat([header, ...attrs]);
    const msg = Buffer.alloc(NLMSG_HDRLEN + body.length);
    const seq = ++this.seq;
    msg.writeUInt32LE(msg.length, 0);
    msg.writeUInt16LE(type, 4);
    msg.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK | flags, 6);
    msg.writeUInt32LE(seq, 8);
    body.copy(msg, NLMSG_HDRLEN);
    check(`send(${what})`, sym().send(this.fd, msg, msg.length, 0));
    for (;;) {
      const got = Number(sym().recv(this.fd, this.reply, this.reply.length, 0));
      if (got === -1 && lastErrno() === EINTR) continue;
      const n = check(`recv(${what})`, got);
      for (let off = 0; off + NLMSG_HDRLEN <= n; ) {
        const len = this.reply.readUInt32LE(off);
        if (len < NLMSG_HDRLEN) break;
        if (this.reply.readUInt16LE(off + 4) === NLMSG_ERROR && this.reply.readUInt32LE(off + 8) === seq) {
          const error = this.reply.readInt32LE(off + NLMSG_HDRLEN); // struct nlmsgerr { int error; struct nlmsghdr msg; }
          if (error === 0) return;
          throw new SyscallError(what, -error);
        }
        off += align4(len);
      }
    }
  }
}
