import { describe, expect, test } from "bun:test";
import { parseMountOptions } from "../../src/init/options";
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_STRICTATIME } from "../../ffi/mount";
import { buildSpec, DEFAULT_PATH } from "../../src/spec";

describe("mount options", () => {
  test("flags become mount(2) flags, the rest the filesystem's data", () => {
    expect(parseMountOptions(["nosuid", "strictatime", "mode=755", "size=65536k"])).toEqual({
      flags: MS_NOSUID | MS_STRICTATIME,
      data: "mode=755,size=65536k",
    });
    expect(parseMountOptions(["rbind", "ro", "nodev", "noexec"])).toEqual({ flags: MS_BIND | MS_REC | MS_RDONLY | MS_NODEV | MS_NOEXEC, data: "" });
  });

  test("a later option undoes an earlier one, as in mount(8)", () => {
    expect(parseMountOptions(["ro", "rw"]).flags & MS_RDONLY).toBe(0);
  });
});

describe("buildSpec", () => {
  test("docker's defaults: namespaces, mounts, environment", () => {
    const spec = buildSpec({ args: ["sh"], rootfs: "/r", hostname: "abc" });
    expect(spec.linux.namespaces.map((n) => n.type).sort()).toEqual(["cgroup", "ipc", "mount", "network", "pid", "uts"]);
    expect(spec.mounts.map((m) => m.destination)).toEqual(["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"]);
    expect(spec.process.env).toEqual([`PATH=${DEFAULT_PATH}`, "HOSTNAME=abc", "HOME=/root"]);
    expect(spec.process.cwd).toBe("/");
  });

  test("-e overrides a default by key; -t adds TERM", () => {
    const spec = buildSpec({ args: ["sh"], rootfs: "/r", hostname: "h", env: ["PATH=/bin", "X=a=b"], terminal: true });
    expect(spec.process.env).toEqual(["PATH=/bin", "HOSTNAME=h", "HOME=/root", "TERM=xterm", "X=a=b"]);
  });

  test("the default mount list is copied, not shared between containers", () => {
    const a = buildSpec({ args: ["sh"], rootfs: "/r", hostname: "a" });
    a.mounts[0]!.options!.push("ro");
    expect(buildSpec({ args: ["sh"], rootfs: "/r", hostname: "b" }).mounts[0]!.options).not.toContain("ro");
  });
});
