// The Kafka wire protocol (src/protocol/kafka/): the codec, one schema per
// API message, the record format and its conversion to Fluvio's.
export * from './codec.js';
export * from './header.js';
export * from './error-codes.js';
export * from './api-keys.js';
export * from './schema.js';
export * from './records.js';
export * from './consumer-protocol.js';
export * from './messages/api-versions.js';
export * from './messages/metadata.js';
export * from './messages/produce.js';
export * from './messages/fetch.js';
export * from './messages/list-offsets.js';
export * from './messages/create-topics.js';
export * from './messages/delete-topics.js';
export * from './messages/find-coordinator.js';
export * from './messages/join-group.js';
export * from './messages/sync-group.js';
export * from './messages/heartbeat.js';
export * from './messages/leave-group.js';
export * from './messages/offset-commit.js';
export * from './messages/offset-fetch.js';
export * from './messages/describe-groups.js';
export * from './messages/list-groups.js';
export * from './messages/init-producer-id.js';
