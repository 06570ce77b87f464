/**
 * Whether a process with this pid exists (one we may not signal counts:
 * EPERM). Anything but a positive integer names no process — kill() would
 * take 0 and negative numbers for process groups — so it answers false.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
