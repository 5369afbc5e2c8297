// The caller's terminal size, for a container's terminal (run -t, exec -t): its stdout's, or its
// stdin's when stdout is redirected. A module of its own: `exec` needs it without `run`'s graph.
import { getWindowSize, isatty } from "../../ffi/tty";

export function callerWindowSize(): { height: number; width: number } | undefined {
  for (const fd of [1, 0]) {
    if (!isatty(fd)) continue;
    try {
      const { rows, cols } = getWindowSize(fd);
      if (rows > 0 && cols > 0) return { height: rows, width: cols };
    } catch {}
  }
  return undefined;
}
