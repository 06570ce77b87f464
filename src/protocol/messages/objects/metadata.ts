// Metadata<S> and MetadataUpdate<S>, the items of List and Watch responses:
//
//   Metadata<S>
//     name    String      the store key ("demo", "demo-0", "custom-spu-5001")
//     spec    S
//     status  S::Status
//
//   MetadataUpdate<S>
//     epoch    i64
//     changes  Vec<Message>   Message = header u8 (0 UPDATE, 1 DELETE) + content Metadata<S>
//     all      Vec<Metadata<S>>
//
// The client replaces its store with `all` when it is non-empty, else applies
// `changes`; a frame with both empty is ignored, so removals must be DELETEs.

import { DecodeError, type Reader, type Writer } from '../../codec.js';

export interface Metadata<S, St = unknown> {
  name: string;
  spec: S;
  status: St;
}

export type MetadataChangeKind = 'update' | 'delete';

export interface MetadataChange<M> {
  kind: MetadataChangeKind;
  content: M;
}

export interface MetadataUpdate<M> {
  epoch: number;
  changes: MetadataChange<M>[];
  all: M[];
}

/** How one object kind's spec and status are written, at a given api_version. */
export interface ObjectCodec<S, St> {
  encodeSpec(w: Writer, spec: S, version: number): void;
  decodeSpec(r: Reader, version: number): S;
  encodeStatus(w: Writer, status: St, version: number): void;
  decodeStatus(r: Reader, version: number): St;
}

export function encodeMetadata<S, St>(w: Writer, codec: ObjectCodec<S, St>, item: Metadata<S, St>, version: number): void {
  w.string(item.name);
  codec.encodeSpec(w, item.spec, version);
  codec.encodeStatus(w, item.status, version);
}

export function decodeMetadata<S, St>(r: Reader, codec: ObjectCodec<S, St>, version: number): Metadata<S, St> {
  const name = r.string('metadata.name');
  const spec = codec.decodeSpec(r, version);
  const status = codec.decodeStatus(r, version);
  return { name, spec, status };
}

export function encodeMetadataList<S, St>(
  w: Writer,
  codec: ObjectCodec<S, St>,
  items: readonly Metadata<S, St>[],
  version: number,
): void {
  w.array(items, (item) => encodeMetadata(w, codec, item, version));
}

export function decodeMetadataList<S, St>(r: Reader, codec: ObjectCodec<S, St>, version: number, field = 'items'): Metadata<S, St>[] {
  return r.array(() => decodeMetadata(r, codec, version), field, 2);
}

export function encodeMetadataUpdate<S, St>(
  w: Writer,
  codec: ObjectCodec<S, St>,
  update: MetadataUpdate<Metadata<S, St>>,
  version: number,
): void {
  w.i64(update.epoch);
  w.array(update.changes, (change) => {
    w.u8(change.kind === 'delete' ? 1 : 0);
    encodeMetadata(w, codec, change.content, version);
  });
  encodeMetadataList(w, codec, update.all, version);
}

export function decodeMetadataUpdate<S, St>(
  r: Reader,
  codec: ObjectCodec<S, St>,
  version: number,
): MetadataUpdate<Metadata<S, St>> {
  const epoch = r.i64('epoch');
  const changes = r.array(
    (): MetadataChange<Metadata<S, St>> => {
      const header = r.u8('changes.header');
      if (header > 1) throw new DecodeError(`changes.header: unknown message type ${header}`);
      return { kind: header === 1 ? 'delete' : 'update', content: decodeMetadata(r, codec, version) };
    },
    'changes',
    3,
  );
  const all = decodeMetadataList(r, codec, version, 'all');
  return { epoch, changes, all };
}
