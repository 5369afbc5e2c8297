// Interface flags through the classic ioctl interface (netdevice(7)): enough to bring `lo` up
// inside a new network namespace without netlink.
import { FFIType, check, cstr, libc } from "./libc";

const sym = libc({
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
});

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
const IFREQ_SIZE = 40; // struct ifreq: char ifr_name[16], then a union whose first member is short ifr_flags

export function setLinkUp(name: string): void {
  const fd = check("socket", sym().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  try {
    const ifr = Buffer.alloc(IFREQ_SIZE);
    ifr.set(cstr(name).subarray(0, 15));
    check(`ioctl SIOCGIFFLAGS ${name}`, sym().ioctl(fd, SIOCGIFFLAGS, ifr));
    ifr.writeInt16LE(ifr.readInt16LE(16) | IFF_UP, 16);
    check(`ioctl SIOCSIFFLAGS ${name}`, sym().ioctl(fd, SIOCSIFFLAGS, ifr));
  } finally {
    sym().close(fd);
  }
}
