// The libc wrappers against the real kernel: failures carry the call and the errno's name.
import { describe, expect, test } from "bun:test";
import { SyscallError, errnoName } from "../../ffi/errno";
import { MNT_DETACH, pivotRoot, umount2, mount, MS_BIND } from "../../ffi/mount";
import { NAMESPACES, setns, withChildNamespace } from "../../ffi/namespaces";
import { readlinkSync } from "node:fs";

describe("ffi errors name the call and the errno", () => {
  test("pivot_root on a path that does not exist", () => {
    expect(() => pivotRoot("/no/such/dir", "/no/such/dir/old")).toThrow(new SyscallError("pivot_root", 2));
    try {
      pivotRoot("/no/such/dir", "/no/such/dir/old");
    } catch (e) {
      expect((e as Error).message).toBe("pivot_root: ENOENT");
      expect((e as SyscallError).code).toBe("ENOENT");
    }
  });

  test("umount2 of something that is not a mount point", () => {
    expect(() => umount2("/proc/self", MNT_DETACH)).toThrow("umount2 /proc/self: EINVAL");
  });

  test("mount of a missing source", () => {
    expect(() => mount("/no/such/source", "/tmp", null, MS_BIND)).toThrow("mount /tmp: ENOENT");
  });

  test("setns on a bad fd", () => {
    expect(() => setns(-1, NAMESPACES.pid.flag)).toThrow("setns: EBADF");
  });

  test("errno names", () => {
    expect(errnoName(22)).toBe("EINVAL");
    expect(errnoName(9999)).toBe("errno 9999");
  });
});

test("withChildNamespace: the child is PID 1 of a new PID namespace, the caller comes back home", async () => {
  const home = readlinkSync("/proc/thread-self/ns/pid_for_children");
  const child = withChildNamespace("pid", () => Bun.spawn(["sh", "-c", "echo $$"], { stdout: "pipe" }));
  expect(readlinkSync("/proc/thread-self/ns/pid_for_children")).toBe(home);
  expect((await new Response(child.stdout).text()).trim()).toBe("1");
  expect(readlinkSync(`/proc/${child.pid}/ns/pid`)).not.toBe(readlinkSync("/proc/self/ns/pid"));
  await child.exited;
  // and a later spawn still works (a thread left in the dead namespace would get ENOMEM)
  expect(Bun.spawnSync(["true"]).exitCode).toBe(0);
});
