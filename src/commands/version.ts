// `mydocker version [--format F]`: the client's version, the OCI runtime-spec version of its
// configs, Bun's version and the kernel's, in docker's layout (Client: / Server:) and field names.
import { release } from "node:os";
import { defineCommand } from "citty";
import { formatOne } from "../format";
import { OCI_SPEC_VERSION, VERSION } from "../version";
import { parseCommand } from "./args";

const args = { format: { type: "string", alias: "f", valueHint: "TEMPLATE", description: "json, or a Go template ({{.Client.Version}})" } } as const;

const arch = () => ({ x64: "amd64", arm64: "arm64", ia32: "386", arm: "arm" })[process.arch as string] ?? process.arch;

/** What `version` shows, as docker's types.Version where the fields mean the same. */
export function versionInfo() {
  const common = { Version: VERSION, Os: "linux", Arch: arch(), KernelVersion: release() };
  return {
    Client: { ...common, Platform: { Name: "mydocker" }, BunVersion: Bun.version, Context: "default" },
    Server: {
      ...common,
      Platform: { Name: "mydocker (daemonless)" },
      Components: [
        { Name: "Engine", Version: VERSION, Details: { Bun: Bun.version } },
        { Name: "OCI runtime-spec", Version: OCI_SPEC_VERSION, Details: {} },
      ],
      OCIRuntimeSpec: OCI_SPEC_VERSION,
      BunVersion: Bun.version,
    },
  };
}

export default defineCommand({
  meta: { name: "version", description: "Show the mydocker, OCI runtime-spec, Bun and kernel versions" },
  args,
  async run({ rawArgs }) {
    const { options } = parseCommand("version", rawArgs, args, 0, "");
    const v = versionInfo();
    if (options.format !== undefined) return void console.log(formatOne(options.format as string, v));
    const row = (k: string, val: string) => ` ${`${k}:`.padEnd(18)} ${val}`;
    console.log(
      [
        "Client:",
        row("Version", v.Client.Version),
        row("OCI runtime-spec", v.Server.OCIRuntimeSpec),
        row("Bun version", v.Client.BunVersion),
        row("OS/Arch", `${v.Client.Os}/${v.Client.Arch}`),
        row("Kernel", v.Client.KernelVersion),
        row("Context", v.Client.Context),
      ].join("\n"),
    );
  },
});
