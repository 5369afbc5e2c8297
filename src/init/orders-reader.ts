// The init's side of fd 3, a stream socket (unix(7)): the orders come as one JSON line, then the
// runtime may send another line (the cgroup is made) and single bytes (the network is ready, the
// terminal was taken). One read(2) can return the orders' line and what follows together: what
// follows a line is kept for the next read.
import * as F from "../../ffi/file";

export class OrdersReader {
  private unread = Buffer.alloc(0);

  constructor(private readonly fd: number) {}

  /** The next line (the orders, then CgroupMade), newline included ("" when the runtime closed fd 3 first). */
  line(): string {
    const kept = this.unread.indexOf(0x0a);
    if (kept >= 0) {
      const line = this.unread.subarray(0, kept + 1).toString();
      this.unread = this.unread.subarray(kept + 1);
      return line;
    }
    const chunks: Buffer[] = [this.unread];
    this.unread = Buffer.alloc(0);
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = F.read(this.fd, buf);
      if (n === 0) break;
      const nl = buf.subarray(0, n).indexOf(0x0a);
      if (nl < 0) {
        chunks.push(Buffer.from(buf.subarray(0, n)));
        continue;
      }
      chunks.push(Buffer.from(buf.subarray(0, nl + 1)));
      this.unread = Buffer.from(buf.subarray(nl + 1, n));
      break;
    }
    return Buffer.concat(chunks).toString();
  }

  /** The runtime's next byte (undefined: it closed fd 3). */
  byte(): number | undefined {
    if (this.unread.length) {
      const b = this.unread[0]!;
      this.unread = this.unread.subarray(1);
      return b;
    }
    const one = Buffer.alloc(1);
    return F.read(this.fd, one) === 1 ? one[0] : undefined;
  }
}
