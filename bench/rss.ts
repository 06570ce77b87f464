import { readdir, readFile } from 'node:fs/promises';

/** Resident set size of a process (VmRSS of /proc/PID/status), in bytes. */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

/** File descriptors a process holds open (entries of /proc/PID/fd). */
export async function openFileDescriptors(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

export const mebibytes = (bytes: number) => bytes / 2 ** 20;

/** Samples a process's RSS every `intervalMs` until stopped: the largest and the mean. */
export class RssSampler {
  private readonly samples: number[] = [];
  private readonly timer: NodeJS.Timeout;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.timer = setInterval(() => {
      this.reading = residentBytes(pid).then((bytes) => void this.samples.push(bytes));
    }, intervalMs);
  }

  async stop(): Promise<{ maxBytes: number; meanBytes: number; samples: number }> {
    clearInterval(this.timer);
    await this.reading;
    this.samples.push(await residentBytes(this.pid));
    const maxBytes = Math.max(...this.samples);
    const meanBytes = this.samples.reduce((sum, bytes) => sum + bytes, 0) / this.samples.length;
    return { maxBytes, meanBytes, samples: this.samples.length };
  }
}
