// The Fluvio wire protocol as Freshet speaks it: pure encoders and decoders,
// no I/O. Each file's header comment gives its wire grammar.

export * from './codec.js';
export * from './error-code.js';
export * from './header.js';
export * from './api-keys.js';
export * from './record-batch.js';
export * from './compression.js';
export * from './semver.js';
export * from './messages/index.js';
export * as kafka from './kafka/index.js';
