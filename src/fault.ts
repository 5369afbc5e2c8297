// Test-only fault points: the fault-injection suite sets MYDOCKER_FAULT=STEP and the process that
// reaches STEP dies at once by SIGKILL, as if killed from outside at that instant. Costs one
// environment lookup when unset. (The container's init has its own: see src/init/protocol.ts.)
export function faultPoint(step: string): void {
  if (process.env.MYDOCKER_FAULT === step) process.kill(process.pid, "SIGKILL");
}

/** The fault variable for a process we start with a clean environment (the monitor). */
export const faultEnv = (): Record<string, string> => (process.env.MYDOCKER_FAULT ? { MYDOCKER_FAULT: process.env.MYDOCKER_FAULT } : {});
