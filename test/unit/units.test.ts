import { describe, expect, test } from "bun:test";
import { parseBytes, parseCpuList, parseCpus, parseCpuset, parseInteger, parseMemory } from "../../src/units";

describe("resource flag parsers", () => {
  test("sizes in b, k, m, g (binary units, any case)", () => {
    expect(parseBytes("--memory", "100m")).toBe(100 * 1024 * 1024);
    expect(parseBytes("--memory", "1G")).toBe(1024 ** 3);
    expect(parseBytes("--memory", "512k")).toBe(512 * 1024);
    expect(parseBytes("--memory", "4096")).toBe(4096);
    expect(parseBytes("--memory", "1.5g")).toBe(1.5 * 1024 ** 3);
  });

  test("bad sizes name the flag and the value", () => {
    expect(() => parseMemory("10x")).toThrow('invalid --memory "10x"');
    expect(() => parseMemory("0")).toThrow("must be greater than 0");
    expect(() => parseMemory("1m")).toThrow("minimum memory limit is 6m");
    expect(() => parseMemory("-5m")).toThrow('invalid --memory "-5m"');
  });

  test("--cpus becomes a CFS quota per 100ms", () => {
    expect(parseCpus("1.5", 2)).toEqual({ quota: 150000, period: 100000 });
    expect(parseCpus("0.5", 2)).toEqual({ quota: 50000, period: 100000 });
    expect(() => parseCpus("-1", 2)).toThrow('invalid --cpus "-1"');
    expect(() => parseCpus("0", 2)).toThrow("positive");
    expect(() => parseCpus("3", 2)).toThrow("only 2 CPUs");
  });

  test("cpu lists", () => {
    expect(parseCpuList("x", "0-2,4")).toEqual([0, 1, 2, 4]);
    expect(() => parseCpuList("x", "2-1")).toThrow("reversed");
    expect(() => parseCpuList("x", "a")).toThrow("expected a list");
    expect(parseCpuset("0-1", [0, 1])).toBe("0-1");
    expect(() => parseCpuset("99", [0, 1])).toThrow("CPU 99 does not exist (online: 0-1)");
  });

  test("integers with bounds", () => {
    expect(parseInteger("--pids-limit", "64", -1)).toBe(64);
    expect(() => parseInteger("--cpu-shares", "1", 2, 262144)).toThrow("between 2 and 262144");
    expect(() => parseInteger("--pids-limit", "ten", -1)).toThrow("expected an integer");
  });
});
