// SmartModule engine: runs Fluvio SmartModule .wasm binaries on Node's own
// WebAssembly, with Fluvio's ABI (../shared/reference/smartmodule-abi.md),
// chain semantics, and per-call fuel and per-instance memory limits.
//
//   const engine = new SmartEngine({ limits: { fuel, maxMemoryBytes } });
//   const chain = await engine.buildChain([{ wasm, name, params, accumulator, lookback, version }]);
//   if (chain.needsLookBack) await chain.lookBack(readRecords);
//   const out = chain.process(recordsSection, { baseOffset, baseTimestamp });
//   // out.records, out.error?.fluvioError
//   chain.close();

export * from './abi.js';
export * from './batch.js';
export * from './chain.js';
export * from './engine.js';
export * from './errors.js';
export type { InstanceLimits, RecordsInput, TraceCall, TraceHook } from './instance.js';
export * from './invocation.js';
export { TRANSFORM_EXPORTS, type CompiledSmartModule, type TransformExport } from './module.js';
export { WasiExit, type WasiOutput } from './wasi.js';
export * from './resolver.js';
