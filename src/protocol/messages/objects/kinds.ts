// The object kinds of the SC APIs, by their TypeBuffer label. Kinds whose
// payload Freshet does not model (SpuGroup, TableFormat, Mirror) pass through
// as raw bytes so that a request for them can still be answered.

import type { Metadata, ObjectCodec } from './metadata.js';
import { partitionCodec, type PartitionSpec, type PartitionStatus } from './partition.js';
import { smartModuleCodec, type SmartModuleSpec, type SmartModuleStatus } from './smartmodule.js';
import { customSpuCodec, spuCodec, type CustomSpuSpec, type SpuSpec, type SpuStatus } from './spu.js';
import { topicCodec, type TopicSpec, type TopicStatus } from './topic.js';

/** Every label Fluvio 0.11.11 knows. */
export const OBJECT_LABELS = ['Topic', 'Partition', 'SPU', 'CustomSpu', 'SpuGroup', 'SmartModule', 'TableFormat', 'Mirror'] as const;
export type ObjectLabel = (typeof OBJECT_LABELS)[number];

export interface ObjectTypes {
  Topic: { spec: TopicSpec; status: TopicStatus };
  Partition: { spec: PartitionSpec; status: PartitionStatus };
  SPU: { spec: SpuSpec; status: SpuStatus };
  CustomSpu: { spec: CustomSpuSpec; status: SpuStatus };
  SmartModule: { spec: SmartModuleSpec; status: SmartModuleStatus };
}

/** The kinds whose specs and statuses are decoded. */
export type KnownKind = keyof ObjectTypes;

export type ObjectMetadata<K extends KnownKind> = Metadata<ObjectTypes[K]['spec'], ObjectTypes[K]['status']>;

type CodecTable = { [K in KnownKind]: ObjectCodec<ObjectTypes[K]['spec'], ObjectTypes[K]['status']> };

export const OBJECT_CODECS: Readonly<CodecTable> = Object.freeze({
  Topic: topicCodec,
  Partition: partitionCodec,
  SPU: spuCodec,
  CustomSpu: customSpuCodec,
  SmartModule: smartModuleCodec,
});

export function isKnownKind(label: string): label is KnownKind {
  return Object.hasOwn(OBJECT_CODECS, label);
}

export function objectCodec<K extends KnownKind>(kind: K): CodecTable[K] {
  return OBJECT_CODECS[kind];
}

/** Kinds that Create accepts in Fluvio (CreatableAdminSpec). */
export const CREATABLE_LABELS: readonly ObjectLabel[] = ['Topic', 'CustomSpu', 'SpuGroup', 'SmartModule', 'TableFormat', 'Mirror'];
/** Kinds that Delete accepts in Fluvio (DeletableAdminSpec). */
export const DELETABLE_LABELS: readonly ObjectLabel[] = CREATABLE_LABELS;
