// The Fluvio wire protocol as Freshet speaks it: pure encoders and decoders,
// no I/O. See docs in each file's header comment for the wire grammar.

export * from './codec.js';
export * from './error-code.js';
export * from './header.js';
export * from './api-keys.js';
export * from './record-batch.js';

export * from './messages/isolation.js';
export * from './messages/record-set.js';
export * from './messages/smartmodule-invocation.js';
export * from './messages/api-versions.js';
export * from './messages/produce.js';
export * from './messages/fetch-offsets.js';
export * from './messages/stream-fetch.js';
export * from './messages/update-offsets.js';
export * from './messages/consumer-offsets.js';

export * from './messages/type-buffer.js';
export * from './messages/status.js';
export * from './messages/create.js';
export * from './messages/delete.js';
export * from './messages/list.js';
export * from './messages/watch.js';

export * from './messages/objects/common.js';
export * from './messages/objects/metadata.js';
export * from './messages/objects/topic.js';
export * from './messages/objects/partition.js';
export * from './messages/objects/spu.js';
export * from './messages/objects/smartmodule.js';
export * from './messages/objects/kinds.js';
