// The executable starts with JavaScriptCore's tier-up thresholds scaled by 100 (the Makefile's
// --compile-jit-policy): most mydocker processes live tens of milliseconds, and code they run a
// few hundred times costs more to compile — on JIT threads, beside the container's init, on the
// same CPUs — than it saves (README, Performance). A process that stays — the shared monitor, a
// terminal relay — asks for the normal policy back, for the code it will run many times.
export function normalJitPolicy(): void {
  Bun.unsafe.setJITPolicy(1);
}
