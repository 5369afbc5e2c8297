// The init's reader of fd 3 over a real socketpair: the orders' line and what the runtime sends
// after it (the cgroup's line, the network byte) may arrive in one read (an init slow to start
// reads them all at once).
import { expect, test } from "bun:test";
import { closeSync, writeSync } from "node:fs";
import { socketPair } from "../../ffi/socket";
import { OrdersReader } from "../../src/init/orders-reader";
import { NETWORK_READY } from "../../src/init/protocol";

test("the orders' line and the network byte written before the init reads: the line, then the byte", () => {
  const [runtime, init] = socketPair();
  try {
    writeSync(runtime, Buffer.from('{"id":"x"}\n'));
    writeSync(runtime, Buffer.from([NETWORK_READY]));
    const r = new OrdersReader(init);
    expect(r.line()).toBe('{"id":"x"}\n');
    expect(r.byte()).toBe(NETWORK_READY);
    closeSync(runtime);
    expect(r.byte()).toBeUndefined(); // the runtime went away
  } finally {
    closeSync(init);
  }
});

test("the orders, the cgroup's line and the network byte in one read: each in its turn", () => {
  const [runtime, init] = socketPair();
  try {
    writeSync(runtime, Buffer.concat([Buffer.from('{"id":"x","cgroupLater":true}\n{"joinCgroup":["/t"]}\n'), Buffer.from([NETWORK_READY])]));
    const r = new OrdersReader(init);
    expect(r.line()).toBe('{"id":"x","cgroupLater":true}\n');
    expect(r.line()).toBe('{"joinCgroup":["/t"]}\n');
    expect(r.byte()).toBe(NETWORK_READY);
    closeSync(runtime);
    expect(r.line()).toBe(""); // the runtime went away
  } finally {
    closeSync(init);
  }
});

test("the second line split across reads, after the first line came with its start", () => {
  const [runtime, init] = socketPair();
  try {
    writeSync(runtime, Buffer.from('{"id":"x"}\n{"join'));
    const r = new OrdersReader(init);
    expect(r.line()).toBe('{"id":"x"}\n');
    writeSync(runtime, Buffer.from('Cgroup":[]}\n'));
    expect(r.line()).toBe('{"joinCgroup":[]}\n');
  } finally {
    closeSync(runtime);
    closeSync(init);
  }
});

test("a line longer than one read (64 KiB), then bytes as they come", () => {
  const [runtime, init] = socketPair();
  try {
    const long = `{"pad":"${"a".repeat(100_000)}"}\n`;
    const r = new OrdersReader(init);
    writeSync(runtime, Buffer.from(long.slice(0, 60_000)));
    writeSync(runtime, Buffer.from(long.slice(60_000) + "\u0001"));
    expect(r.line()).toBe(long);
    expect(r.byte()).toBe(1);
    writeSync(runtime, Buffer.from([2]));
    expect(r.byte()).toBe(2);
  } finally {
    closeSync(runtime);
    closeSync(init);
  }
});

test("no orders at all: the runtime closed fd 3 first", () => {
  const [runtime, init] = socketPair();
  closeSync(runtime);
  try {
    expect(new OrdersReader(init).line()).toBe("");
  } finally {
    closeSync(init);
  }
});
