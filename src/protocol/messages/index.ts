// Every message codec, one module per API (see each file's header for its wire grammar).

export * from './isolation.js';
export * from './record-set.js';
export * from './smartmodule-invocation.js';
export * from './api-versions.js';
export * from './produce.js';
export * from './fetch-offsets.js';
export * from './stream-fetch.js';
export * from './update-offsets.js';
export * from './consumer-offsets.js';

export * from './type-buffer.js';
export * from './status.js';
export * from './create.js';
export * from './delete.js';
export * from './list.js';
export * from './watch.js';

export * from './objects/common.js';
export * from './objects/metadata.js';
export * from './objects/topic.js';
export * from './objects/partition.js';
export * from './objects/spu.js';
export * from './objects/smartmodule.js';
export * from './objects/kinds.js';
export * from './node-info.js';
