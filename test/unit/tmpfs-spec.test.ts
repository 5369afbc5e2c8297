// --tmpfs PATH[:OPTIONS]: only tmpfs options are taken; anything that would bind, remount or
// change propagation is a one-line usage error naming the option.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/cli/argv";
import { parseTmpfsSpec } from "../../src/volumes";

const options = (spec: string) => parseTmpfsSpec(spec).options;

describe("parseTmpfsSpec", () => {
  test("tmpfs data options and flags are kept, after docker's nosuid,nodev", () => {
    expect(parseTmpfsSpec("/x")).toEqual({ destination: "/x", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"] });
    expect(options("/x:size=64m,mode=1777,uid=1,gid=2,nr_inodes=10,nr_blocks=20,huge=never,mpol=default")).toEqual([
      "nosuid", "nodev", "size=64m", "mode=1777", "uid=1", "gid=2", "nr_inodes=10", "nr_blocks=20", "huge=never", "mpol=default",
    ]);
    expect(options("/x:ro,noexec,noatime,nodiratime,relatime,strictatime")).toEqual([
      "nosuid", "nodev", "ro", "noexec", "noatime", "nodiratime", "relatime", "strictatime",
    ]);
  });

  test("of two opposite flags the later wins; the cancel-only ones leave nothing behind", () => {
    expect(options("/x:suid,dev,exec")).toEqual(["suid", "dev", "exec"]);
    expect(options("/x:ro,rw")).toEqual(["nosuid", "nodev", "rw"]);
    expect(options("/x:noatime,atime,nodiratime,diratime,relatime,norelatime,strictatime,nostrictatime")).toEqual(["nosuid", "nodev"]);
    expect(options("/x:atime,noatime")).toEqual(["nosuid", "nodev", "noatime"]);
  });

  const refused: [string, string][] = [
    ["/x:bind", "bind"],
    ["/x:rbind", "rbind"],
    ["/x:size=1m,shared", "shared"],
    ["/x:rslave", "rslave"],
    ["/x:remount", "remount"],
    ["/x:private", "private"],
    ["/x:nosuid,loop", "loop"],
    ["/x:size=", "size="],
    ["/x:size", "size"],
    ["/x:source=/etc", "source=/etc"],
    ["/x:lowerdir=/", "lowerdir=/"],
  ];
  for (const [spec, bad] of refused) {
    test(`refused: ${spec}`, () => {
      let err: unknown;
      try {
        parseTmpfsSpec(spec);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      const message = (err as Error).message;
      expect(message).toContain(`"${bad}" is not a tmpfs option`);
      expect(message).not.toContain("\n");
    });
  }

  test("the path rules are unchanged", () => {
    expect(() => parseTmpfsSpec("x")).toThrow(UsageError);
    expect(() => parseTmpfsSpec("/:size=1m")).toThrow(UsageError);
  });
});
