#!/usr/bin/env bun
// Entry point of the mydocker executable. `mydocker init` is the container's init (spawned by
// mydocker itself, never typed by users); it loads nothing but what it needs, since every
// container start pays for it.
const argv = process.argv.slice(2);
if (argv[0] === "init") {
  // Compiled, the init is one module of its own, bundled by the Makefile before the binary (see
  // INIT_BUNDLE there): fewer modules to load than the chunks it would share with the CLI.
  const compiled = Bun.main.startsWith("/$bunfs/");
  // @ts-ignore: generated JS without types (the Makefile writes it before the compile)
  const init: typeof import("./init/init") = compiled ? await import("../.cache/init.js") : await import("./init/init");
  init.main();
} else if (process.argv0.endsWith("/mydocker-runc") || process.argv0 === "mydocker-runc") {
  await (await import("./oci/main")).main(argv);
} else if (argv[0] === "oci") {
  await (await import("./oci/main")).main(argv.slice(1));
} else {
  await (await import("./cli/main")).main(argv);
}
