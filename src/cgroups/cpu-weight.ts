/**
 * cgroup v1 cpu.shares (2..262144, default 1024) -> cgroup v2 cpu.weight (1..10000, default 100).
 *
 * A plain linear map sends the default 1024 to 39, so we use the quadratic-in-log2 curve that
 * runc/crun settled on: weight = ceil(10^((l² + 125·l)/612 − 7/34)), l = log2(shares).
 * It hits the three fixed points exactly: 2 -> 1, 1024 -> 100, 262144 -> 10000.
 */
export function sharesToWeight(shares: number): number {
  if (shares <= 2) return 1; // also covers 0/negative, where log2 is undefined
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const w = Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
  return Math.min(10000, Math.max(1, w)); // clamp: guards against float noise at the edges
}
