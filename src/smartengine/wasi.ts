// A minimal wasi_snapshot_preview1 for SmartModules built for wasm32-wasi /
// wasip1. Fluvio links the full preview1 set with stdout and stderr
// inherited, no preopened directories, no args and no environment; what
// SmartModules actually import is fd_write, environ_get, environ_sizes_get
// and proc_exit (plus, in some builds, random_get and clock_time_get). This
// stub serves exactly that world and answers ENOSYS to everything else, so a
// module can neither read the host's environment nor touch its files.
//
// node:wasi would do too (without start()/initialize(), which need exports
// these modules do not have), but it exposes the real environment unless
// configured otherwise and is larger than the handful of calls needed here.

import { randomFillSync } from 'node:crypto';

export const WASI_MODULE = 'wasi_snapshot_preview1';

const ESUCCESS = 0;
const EBADF = 8;
const EINVAL = 28;
const ENOSYS = 52;

/** Where a module's writes to stdout (fd 1) and stderr (fd 2) go. */
export type WasiOutput = 'inherit' | 'discard' | ((fd: 1 | 2, bytes: Buffer) => void);

/** Thrown by proc_exit: the call ends with this instead of a trap. */
export class WasiExit extends Error {
  override name = 'WasiExit';
  constructor(readonly code: number) {
    super(`module called proc_exit(${code})`);
  }
}

export interface WasiContext {
  /** Set once the instance exists. */
  memory: WebAssembly.Memory | null;
}

/**
 * Import functions for every `wasi_snapshot_preview1` import the module
 * declares (`names`); unknown ones return ENOSYS.
 */
export function wasiImports(
  names: readonly string[],
  ctx: WasiContext,
  output: WasiOutput,
): Record<string, (...args: never[]) => unknown> {
  const view = (): DataView => {
    if (ctx.memory === null) throw new Error('WASI call before the module memory is available');
    return new DataView(ctx.memory.buffer);
  };
  const impl: Record<string, (...args: never[]) => unknown> = {
    fd_write: (fd: number, iovs: number, iovsLen: number, nwritten: number): number => {
      if (fd !== 1 && fd !== 2) return EBADF;
      const dv = view();
      const mem = new Uint8Array(dv.buffer);
      const parts: Buffer[] = [];
      let total = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = dv.getUint32(iovs + i * 8, true);
        const len = dv.getUint32(iovs + i * 8 + 4, true);
        if (ptr + len > mem.length) return EINVAL;
        parts.push(Buffer.from(mem.subarray(ptr, ptr + len)));
        total += len;
      }
      if (typeof output === 'function') output(fd, Buffer.concat(parts, total));
      else if (output === 'inherit') (fd === 1 ? process.stdout : process.stderr).write(Buffer.concat(parts, total));
      dv.setUint32(nwritten, total, true);
      return ESUCCESS;
    },
    environ_sizes_get: (countPtr: number, sizePtr: number): number => {
      const dv = view();
      dv.setUint32(countPtr, 0, true);
      dv.setUint32(sizePtr, 0, true);
      return ESUCCESS;
    },
    environ_get: (): number => ESUCCESS,
    args_sizes_get: (countPtr: number, sizePtr: number): number => {
      const dv = view();
      dv.setUint32(countPtr, 0, true);
      dv.setUint32(sizePtr, 0, true);
      return ESUCCESS;
    },
    args_get: (): number => ESUCCESS,
    proc_exit: (code: number): never => {
      throw new WasiExit(code);
    },
    random_get: (ptr: number, len: number): number => {
      const mem = new Uint8Array(view().buffer);
      if (ptr + len > mem.length) return EINVAL;
      randomFillSync(mem, ptr, len);
      return ESUCCESS;
    },
    clock_time_get: (id: number, _precision: bigint, timePtr: number): number => {
      let ns: bigint;
      if (id === 0) ns = BigInt(Date.now()) * 1_000_000n;
      else if (id === 1) ns = process.hrtime.bigint();
      else return EINVAL;
      view().setBigUint64(timePtr, ns, true);
      return ESUCCESS;
    },
    sched_yield: (): number => ESUCCESS,
    fd_prestat_get: (): number => EBADF, // no preopened directories
  };
  const out: Record<string, (...args: never[]) => unknown> = {};
  for (const name of names) out[name] = impl[name] ?? ((): number => ENOSYS);
  return out;
}
