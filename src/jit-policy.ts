// The executable starts with JavaScriptCore's tier-up thresholds scaled by 100 (the Makefile's
// --compile-jit-policy): most mydocker processes live tens of milliseconds, and code they run a
// few hundred times costs more to compile — on JIT threads, beside the container's init, on the
// same CPUs — than it saves (README, Performance). A process that stays — a terminal relay —
// asks for the normal policy back. (The monitor, which stays too, runs in JavaScriptCore's
// interpreter: MONITOR_ENV in src/engine/self.ts.)
export function normalJitPolicy(): void {
  Bun.unsafe.setJITPolicy(1);
}
