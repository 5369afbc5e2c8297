// docker's security defaults and flags, as config fields (no kernel needed: the e2e escape suite
// checks what the init makes of them).
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/cli/argv";
import { allCapabilities, capabilityMask, DEFAULT_CAPABILITIES, effectiveCapabilities, normalizeCapability, ownBoundingSet } from "../../src/security/capabilities";
import { applySecurity, MASKED_PATHS, READONLY_PATHS, type SecurityOptions } from "../../src/security/defaults";
import { parseUlimit, securityOptions } from "../../src/security/options";
import { parseSysctl } from "../../src/security/sysctl";
import { buildSpec } from "../../src/spec";
import { resolveUser } from "../../src/init/user";

const base = (o: Partial<SecurityOptions> = {}): SecurityOptions => ({
  privileged: false, capAdd: [], capDrop: [], noNewPrivileges: false, seccomp: "default", groupAdd: [], rlimits: [], sysctl: {}, devices: [], ...o,
});
const spec = () => buildSpec({ args: ["sh"], rootfs: "/r", hostname: "h" });

describe("capabilities", () => {
  test("docker's 14 make the mask 0xa80425fb, the value docker shows in CapEff", () => {
    expect(capabilityMask(DEFAULT_CAPABILITIES).mask).toBe(0xa80425fbn);
  });
  test("--cap-drop ALL --cap-add CHOWN keeps CHOWN alone; --cap-add ALL gives all the runtime has", () => {
    expect(effectiveCapabilities({ add: ["CAP_CHOWN"], drop: ["ALL"], privileged: false })).toEqual(["CAP_CHOWN"]);
    expect(effectiveCapabilities({ add: [], drop: ["CAP_CHOWN"], privileged: false })).not.toContain("CAP_CHOWN");
    const bounding = ownBoundingSet("CapBnd:\t000001fffeffffff\n"); // no CAP_SYS_RESOURCE (24)
    expect(effectiveCapabilities({ add: ["ALL"], drop: [], privileged: false, bounding })).toEqual(allCapabilities(bounding));
    expect(allCapabilities(bounding)).not.toContain("CAP_SYS_RESOURCE");
    expect(allCapabilities(bounding)).toHaveLength(40);
  });
  test("names are accepted as docker spells them; unknown ones are refused", () => {
    expect(normalizeCapability("--cap-add", "sys_admin")).toBe("CAP_SYS_ADMIN");
    expect(normalizeCapability("--cap-add", "CAP_NET_ADMIN")).toBe("CAP_NET_ADMIN");
    expect(normalizeCapability("--cap-drop", "all")).toBe("ALL");
    expect(() => normalizeCapability("--cap-add", "FLY")).toThrow('invalid --cap-add "FLY": unknown capability');
  });
  test("a name the kernel lacks is reported, not set", () => {
    expect(capabilityMask(["CAP_BPF", "CAP_CHOWN"], 38)).toEqual({ mask: 1n, unknown: ["CAP_BPF"] });
  });
});

describe("defaults in the config", () => {
  test("a default container: 14 capabilities in four sets, docker's seccomp, masked and read-only paths, deny-by-default devices", () => {
    const s = spec();
    applySecurity(s, base());
    expect(s.process.capabilities).toEqual({ bounding: DEFAULT_CAPABILITIES.slice().sort(byKernel), effective: expect.any(Array), permitted: expect.any(Array), inheritable: expect.any(Array), ambient: [] });
    expect(s.process.capabilities!.effective).toEqual(s.process.capabilities!.bounding);
    expect(s.process.noNewPrivileges).toBe(false);
    expect(s.linux.seccomp?.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(s.linux.maskedPaths).toEqual(MASKED_PATHS);
    expect(s.linux.readonlyPaths).toEqual(READONLY_PATHS);
    expect(s.linux.resources?.devices?.[0]).toEqual({ allow: false, access: "rwm" });
    expect(s.mounts.find((m) => m.destination === "/sys")!.options).toContain("ro");
    expect(s.mounts.find((m) => m.destination === "/sys/fs/cgroup")!.options).toContain("ro");
    expect(s.process.user).toBeUndefined();
  });
  test("--privileged: all capabilities, no seccomp, nothing masked, /sys and cgroupfs writable, all devices allowed", () => {
    const s = spec();
    applySecurity(s, base({ privileged: true }));
    expect(s.process.capabilities!.bounding!.length).toBeGreaterThan(30);
    expect(s.linux.seccomp).toBeUndefined();
    expect(s.linux.maskedPaths).toBeUndefined();
    expect(s.linux.readonlyPaths).toBeUndefined();
    expect(s.linux.resources?.devices).toEqual([{ allow: true, type: "a", major: null, minor: null, access: "rwm" }]);
    expect(s.mounts.find((m) => m.destination === "/sys")!.options).not.toContain("ro");
    expect(s.mounts.find((m) => m.destination === "/sys/fs/cgroup")!.options).not.toContain("ro");
    expect(s.linux.devices!.some((d) => d.path === "/dev/null")).toBe(true);
  });
  test("seccomp=unconfined leaves linux.seccomp out; no-new-privileges sets the field", () => {
    const s = spec();
    applySecurity(s, base({ seccomp: "unconfined", noNewPrivileges: true }));
    expect(s.linux.seccomp).toBeUndefined();
    expect(s.process.noNewPrivileges).toBe(true);
  });
  test("a non-root --user keeps the capabilities only in the bounding set, and HOME comes from its passwd entry", () => {
    const s = spec();
    applySecurity(s, base({ user: "nobody", groupAdd: ["10", "wheel"] }));
    expect(s.process.capabilities).toMatchObject({ effective: [], permitted: [], inheritable: [], ambient: [] });
    expect(s.process.capabilities!.bounding).toHaveLength(14);
    expect(s.process.user).toEqual({ uid: 0, gid: 0, name: "nobody", additionalGids: [10], additionalGroupNames: ["wheel"] });
    expect(s.process.env.some((e) => e.startsWith("HOME="))).toBe(false);
  });
});

const byKernel = (a: string, b: string) => capabilityMask([a]).mask < capabilityMask([b]).mask ? -1 : 1;

describe("flags", () => {
  const opts = (o: Record<string, unknown>) => securityOptions(o as never, ["network", "ipc", "uts", "mount", "pid", "cgroup"]);
  test("--security-opt: no-new-privileges, seccomp=unconfined; anything else is a usage error", () => {
    expect(opts({ "security-opt": ["no-new-privileges"] }).noNewPrivileges).toBe(true);
    expect(opts({ "security-opt": ["no-new-privileges:false"] }).noNewPrivileges).toBe(false);
    expect(opts({ "security-opt": ["seccomp=unconfined"] }).seccomp).toBe("unconfined");
    expect(() => opts({ "security-opt": ["bogus"] })).toThrow(UsageError);
    expect(() => opts({ "security-opt": ["seccomp=/nonexistent.json"] })).toThrow(`invalid --security-opt "seccomp=/nonexistent.json": ENOENT`);
  });
  test("--ulimit NAME=SOFT[:HARD]", () => {
    expect(parseUlimit("nofile=512:1024")).toEqual({ type: "RLIMIT_NOFILE", soft: 512, hard: 1024 });
    expect(parseUlimit("nproc=100")).toEqual({ type: "RLIMIT_NPROC", soft: 100, hard: 100 });
    expect(() => parseUlimit("nofile=2:1")).toThrow("soft limit 2 is above the hard limit 1");
    expect(() => parseUlimit("wings=1")).toThrow("unknown resource wings");
    expect(() => parseUlimit("nofile")).toThrow("expected NAME=SOFT[:HARD]");
  });
  test("--sysctl: the container's own namespaces only", () => {
    expect(parseSysctl("net.ipv4.ip_forward=1", ["network"])).toEqual(["net.ipv4.ip_forward", "1"]);
    expect(parseSysctl("kernel.shmmax=1000", ["ipc"])).toEqual(["kernel.shmmax", "1000"]);
    expect(() => parseSysctl("kernel.core_pattern=x", ["network", "ipc"])).toThrow("kernel.core_pattern is not namespaced");
    expect(() => parseSysctl("net.ipv4.ip_forward=1", ["ipc"])).toThrow("shares the host's network namespace");
    expect(() => parseSysctl("noequals", ["network"])).toThrow("expected KEY=VALUE");
  });
});

describe("users, from the container's own /etc files", () => {
  const files = {
    passwd: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\n",
    group: "root:x:0:\nwheel:x:10:alice\nusers:x:100:alice,bob\nalice:x:1000:\n",
  };
  test("a name gives its uid, gid, home and the groups it is a member of", () => {
    expect(resolveUser("alice", [], files)).toEqual({ uid: 1000, gid: 1000, groups: [10, 100], home: "/home/alice" });
  });
  test("USER:GROUP by names or ids; --group-add by name or id", () => {
    expect(resolveUser("alice:users", [], files)).toEqual({ uid: 1000, gid: 100, groups: [], home: "/home/alice" });
    expect(resolveUser("1000:10", [4, "users"], files)).toEqual({ uid: 1000, gid: 10, groups: [4, 100], home: "/home/alice" });
  });
  test("an unknown uid is used as is, with gid 0 and home /, as docker does", () => {
    expect(resolveUser("4242", [], files)).toEqual({ uid: 4242, gid: 0, groups: [], home: "/" });
  });
  test("an unknown name or group is an error naming it", () => {
    expect(() => resolveUser("mallory", [], files)).toThrow("unable to find user mallory");
    expect(() => resolveUser("alice:nogroup", [], files)).toThrow("unable to find group nogroup");
  });
});
