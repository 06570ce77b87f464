// The node layer: the one place that knows every part of a running Freshet
// node and composes them (config, lifecycle, listeners, runtimes, console).

export { defaultNodeConfig, type NodeConfig } from './config.js';
export { defaultDataDir, DEFAULT_SC_PORT, DEFAULT_SPU_ID, DEFAULT_SPU_PORT } from './defaults.js';
export { Lifecycle } from './lifecycle.js';
export { startNode, type NodeStats, type RunningNode } from './node.js';
export { DEFAULT_STOP_GRACE_MS, stopOnSignals, type StopOnSignalsOptions } from './signals.js';
