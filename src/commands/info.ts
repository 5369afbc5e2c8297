// `mydocker info [--format F]`: counts of containers and images, cgroup version and driver, the
// storage driver and roots, the kernel and the security options new containers get, in docker's
// layout and its types.Info field names.
import { readNetworks } from "../network/store";
import { existsSync, readFileSync } from "node:fs";
import { arch, cpus, hostname, release, totalmem } from "node:os";
import { defineCommand } from "citty";
import { detectCgroupVersion } from "../cgroups";
import { formatOne } from "../format";
import { listImages } from "../image/store";
import { dataRoot, runtimeRoot } from "../paths";
import { listLive } from "../state/live";
import { VERSION } from "../version";
import { parseCommand } from "./args";
import { bytesSize } from "../format";

const args = { format: { type: "string", alias: "f", valueHint: "TEMPLATE", description: "json, or a Go template ({{.CgroupVersion}})" } } as const;

export { bytesSize };

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "Linux";
  } catch {
    return "Linux";
  }
}

/** seccomp(2) is there when /proc/self/status has a Seccomp line (proc(5)). */
const seccompSupported = () => /^Seccomp:/m.test(readFileSync("/proc/self/status", "utf8"));

export function systemInfo() {
  const containers = listLive();
  const count = (...st: string[]) => containers.filter((c) => st.includes(c.status)).length;
  const cgroupVersion = detectCgroupVersion();
  const forwarding = ipv4Forwarding();
  const security = [
    ...(seccompSupported() ? ["name=seccomp,profile=builtin"] : []),
    ...(cgroupVersion === 2 || existsSync("/proc/self/ns/cgroup") ? ["name=cgroupns"] : []),
  ];
  return {
    ID: "",
    Containers: containers.length,
    ContainersRunning: count("running"),
    ContainersPaused: count("paused"),
    ContainersStopped: count("created", "exited", "dead"),
    Images: listImages().length,
    Driver: "overlay",
    DriverStatus: [["Backing Filesystem", "overlayfs lower and upper dirs under the data root"]],
    CgroupDriver: "cgroupfs",
    CgroupVersion: String(cgroupVersion),
    KernelVersion: release(),
    OperatingSystem: osName(),
    OSType: "linux",
    Architecture: arch() === "x64" ? "x86_64" : arch() === "arm64" ? "aarch64" : arch(),
    NCPU: cpus().length,
    MemTotal: totalmem(),
    Name: hostname(),
    ServerVersion: VERSION,
    DockerRootDir: dataRoot(),
    RuntimeRoot: runtimeRoot(),
    DefaultRuntime: "mydocker",
    SecurityOptions: security,
    Plugins: { Network: ["bridge", "host", "null"] },
    IPv4Forwarding: forwarding.on,
    Warnings: forwarding.on ? [] : ["WARNING: IPv4 forwarding is disabled: containers on bridge networks reach only this host"],
    /** mydocker turned IPv4 forwarding on for its networks (and puts it back when the last goes) */
    IPv4ForwardingSetByMydocker: forwarding.ours,
  };
}

/** net.ipv4.ip_forward, and whether mydocker is the one that turned it on (network store). */
function ipv4Forwarding(): { on: boolean; ours: boolean } {
  let on = false;
  try {
    on = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() === "1";
  } catch {}
  return { on, ours: on && readNetworks().ipForwardWas === "0" };
}

/** `name=seccomp,profile=builtin` -> ["seccomp", " Profile: builtin"], as docker prints them. */
function securityLines(opts: string[]): string[] {
  return opts.flatMap((o) => {
    const kv = Object.fromEntries(o.split(",").map((p) => p.split("=") as [string, string]));
    return [`  ${kv.name}`, ...Object.entries(kv).filter(([k]) => k !== "name").map(([k, v]) => `   ${k[0]!.toUpperCase()}${k.slice(1)}: ${v}`)];
  });
}

export default defineCommand({
  meta: { name: "info", description: "Show system-wide information" },
  args,
  async run({ rawArgs }) {
    const { options } = parseCommand("info", rawArgs, args, 0, "");
    const i = systemInfo();
    if (options.format !== undefined) return void console.log(formatOne(options.format as string, i));
    console.log(
      [
        "Client:",
        ` Version:    ${VERSION}`,
        " Context:    default",
        "",
        "Server:",
        ` Containers: ${i.Containers}`,
        `  Running: ${i.ContainersRunning}`,
        `  Paused: ${i.ContainersPaused}`,
        `  Stopped: ${i.ContainersStopped}`,
        ` Images: ${i.Images}`,
        ` Server Version: ${i.ServerVersion}`,
        ` Storage Driver: ${i.Driver}`,
        ` Cgroup Driver: ${i.CgroupDriver}`,
        ` Cgroup Version: ${i.CgroupVersion}`,
        ` Default Runtime: ${i.DefaultRuntime}`,
        " Plugins:",
        `  Network: ${i.Plugins.Network.join(" ")}`,
        " Security Options:",
        ...securityLines(i.SecurityOptions),
        ` Kernel Version: ${i.KernelVersion}`,
        ` Operating System: ${i.OperatingSystem}`,
        ` OSType: ${i.OSType}`,
        ` Architecture: ${i.Architecture}`,
        ` CPUs: ${i.NCPU}`,
        ` Total Memory: ${bytesSize(i.MemTotal)}`,
        ` Name: ${i.Name}`,
        ` Docker Root Dir: ${i.DockerRootDir}`,
        ` Runtime Root Dir: ${i.RuntimeRoot}`,
        ` IPv4 Forwarding: ${i.IPv4Forwarding ? "on" : "off"}${i.IPv4ForwardingSetByMydocker ? " (turned on by mydocker for its bridge networks; put back when the last one goes)" : ""}`,
        ...i.Warnings,
      ].join("\n"),
    );
  },
});
