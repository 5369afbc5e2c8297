// Preloaded by bun test (bunfig.toml): a global afterAll runs once, after every test file.
import { afterAll } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { TEST_DATA_ROOT, TEST_ROOT } from "./roots";
import { dismantleTestNetworks } from "./networks";

afterAll(() => {
  // the suite's bridges and nftables table are host-wide: they go before the data root does
  if (existsSync(TEST_DATA_ROOT)) dismantleTestNetworks(TEST_DATA_ROOT);
  rmSync(TEST_ROOT, { recursive: true, force: true });
  rmSync(TEST_DATA_ROOT, { recursive: true, force: true });
});
