import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reader, Writer } from '../../../src/protocol/codec.js';
import * as p from '../../../src/protocol/index.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const capturesDir = path.resolve(repoRoot, '../shared/reference/fluvio-client-captures');

export interface CapturedFrame {
  flow: string;
  side: 'sc' | 'spu';
  conn: string;
  dir: 'req' | 'resp';
  apiKey: number;
  apiVersion?: number;
  corr: number;
  note?: string;
  hex: string;
}

export interface PairedFrame extends CapturedFrame {
  index: number;
  bytes: Buffer;
  /** The api_version the body is encoded at (the matching request's, for responses). */
  version: number;
}

/** Every captured frame, with responses paired to the version of their request. */
export function loadFrames(): PairedFrame[] {
  const frames = JSON.parse(readFileSync(path.join(capturesDir, 'frames.json'), 'utf8')) as CapturedFrame[];
  const requestVersion = new Map<string, number>();
  return frames.map((frame, index) => {
    const key = `${frame.conn}/${frame.apiKey}/${frame.corr}`;
    let version: number;
    if (frame.dir === 'req') {
      if (frame.apiVersion === undefined) throw new Error(`request frame ${index} has no apiVersion`);
      version = frame.apiVersion;
      requestVersion.set(key, version);
    } else {
      const found = requestVersion.get(key);
      if (found === undefined) throw new Error(`response frame ${index} has no matching request`);
      version = found;
    }
    return { ...frame, index, bytes: Buffer.from(frame.hex, 'hex'), version };
  });
}

export interface MessageCodec {
  name: string;
  decodeRequest(r: Reader, version: number): unknown;
  encodeRequest(w: Writer, value: never, version: number): void;
  decodeResponse(r: Reader, version: number): unknown;
  encodeResponse(w: Writer, value: never, version: number): void;
}

function codec(
  name: string,
  decodeRequest: (r: Reader, version: number) => unknown,
  encodeRequest: (w: Writer, value: never, version: number) => void,
  decodeResponse: (r: Reader, version: number) => unknown,
  encodeResponse: (w: Writer, value: never, version: number) => void,
): MessageCodec {
  return { name, decodeRequest, encodeRequest, decodeResponse, encodeResponse };
}

const apiVersions = codec(
  'ApiVersions',
  p.decodeApiVersionsRequest,
  p.encodeApiVersionsRequest,
  p.decodeApiVersionsResponse,
  p.encodeApiVersionsResponse,
);

export const SC_CODECS = new Map<number, MessageCodec>([
  [p.ScApiKey.ApiVersions, apiVersions],
  [p.ScApiKey.Create, codec('Create', p.decodeCreateRequest, p.encodeCreateRequest, p.decodeCreateResponse, p.encodeCreateResponse)],
  [p.ScApiKey.Delete, codec('Delete', p.decodeDeleteRequest, p.encodeDeleteRequest, p.decodeDeleteResponse, p.encodeDeleteResponse)],
  [p.ScApiKey.List, codec('List', p.decodeListRequest, p.encodeListRequest, p.decodeListResponse, p.encodeListResponse)],
  [p.ScApiKey.Watch, codec('Watch', p.decodeWatchRequest, p.encodeWatchRequest, p.decodeWatchResponse, p.encodeWatchResponse)],
]);

export const SPU_CODECS = new Map<number, MessageCodec>([
  [p.SpuApiKey.ApiVersions, apiVersions],
  [p.SpuApiKey.Produce, codec('Produce', p.decodeProduceRequest, p.encodeProduceRequest, p.decodeProduceResponse, p.encodeProduceResponse)],
  [
    p.SpuApiKey.FetchOffsets,
    codec('FetchOffsets', p.decodeFetchOffsetsRequest, p.encodeFetchOffsetsRequest, p.decodeFetchOffsetsResponse, p.encodeFetchOffsetsResponse),
  ],
  [
    p.SpuApiKey.StreamFetch,
    codec('StreamFetch', p.decodeStreamFetchRequest, p.encodeStreamFetchRequest, p.decodeStreamFetchResponse, p.encodeStreamFetchResponse),
  ],
  [
    p.SpuApiKey.UpdateOffsets,
    codec('UpdateOffsets', p.decodeUpdateOffsetsRequest, p.encodeUpdateOffsetsRequest, p.decodeUpdateOffsetsResponse, p.encodeUpdateOffsetsResponse),
  ],
  [
    p.SpuApiKey.UpdateConsumerOffset,
    codec(
      'UpdateConsumerOffset',
      p.decodeUpdateConsumerOffsetRequest,
      p.encodeUpdateConsumerOffsetRequest,
      p.decodeUpdateConsumerOffsetResponse,
      p.encodeUpdateConsumerOffsetResponse,
    ),
  ],
  [
    p.SpuApiKey.DeleteConsumerOffset,
    codec(
      'DeleteConsumerOffset',
      p.decodeDeleteConsumerOffsetRequest,
      p.encodeDeleteConsumerOffsetRequest,
      p.decodeDeleteConsumerOffsetResponse,
      p.encodeDeleteConsumerOffsetResponse,
    ),
  ],
  [
    p.SpuApiKey.FetchConsumerOffsets,
    codec(
      'FetchConsumerOffsets',
      p.decodeFetchConsumerOffsetsRequest,
      p.encodeFetchConsumerOffsetsRequest,
      p.decodeFetchConsumerOffsetsResponse,
      p.encodeFetchConsumerOffsetsResponse,
    ),
  ],
]);

export function codecFor(side: 'sc' | 'spu', apiKey: number): MessageCodec {
  const found = (side === 'sc' ? SC_CODECS : SPU_CODECS).get(apiKey);
  if (!found) throw new Error(`no codec for ${side} api key ${apiKey}`);
  return found;
}

/** Request frame → header + body, checking that every byte was consumed. */
export function decodeRequestFrame(frame: Buffer, side: 'sc' | 'spu'): { header: p.RequestHeader; body: unknown } {
  const r = new p.Reader(frame);
  const length = r.i32('frame length');
  if (length !== r.remaining()) throw new Error(`frame length ${length} but ${r.remaining()} bytes follow`);
  const header = p.decodeRequestHeader(r);
  const body = codecFor(side, header.apiKey).decodeRequest(r, header.apiVersion);
  r.expectEnd('request frame');
  return { header, body };
}

export function encodeRequestFrame(header: p.RequestHeader, body: unknown, side: 'sc' | 'spu'): Buffer {
  const w = new p.Writer();
  p.encodeRequestHeader(w, header);
  codecFor(side, header.apiKey).encodeRequest(w, body as never, header.apiVersion);
  return p.encodeFrameBuffer(w);
}

export function decodeResponseFrame(
  frame: Buffer,
  side: 'sc' | 'spu',
  apiKey: number,
  version: number,
): { correlationId: number; body: unknown } {
  const r = new p.Reader(frame);
  const length = r.i32('frame length');
  if (length !== r.remaining()) throw new Error(`frame length ${length} but ${r.remaining()} bytes follow`);
  const correlationId = p.decodeResponseCorrelationId(r);
  const body = codecFor(side, apiKey).decodeResponse(r, version);
  r.expectEnd('response frame');
  return { correlationId, body };
}

export function encodeResponseFrame(correlationId: number, body: unknown, side: 'sc' | 'spu', apiKey: number, version: number): Buffer {
  const w = new p.Writer();
  p.encodeResponseCorrelationId(w, correlationId);
  codecFor(side, apiKey).encodeResponse(w, body as never, version);
  return p.encodeFrameBuffer(w);
}

/** mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

export type Random = () => number;

export function int(random: Random, below: number): number {
  return Math.floor(random() * below);
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[int(random, items.length)];
}

const HUGE_I32 = [0x7fffffff, 0xffffffff, 0x80000000, 0x00ffffff, 0x0000ffff, 0x00100000];

/** One random mutation of `input` (never in place): bit flips, truncation, huge lengths, insertions, deletions, repeated slices. */
export function mutate(random: Random, input: Buffer): Buffer {
  const buf = Buffer.from(input);
  if (buf.length === 0) return Buffer.from([int(random, 256)]);
  switch (int(random, 8)) {
    case 0: {
      const flips = 1 + int(random, 4);
      for (let i = 0; i < flips; i++) buf[int(random, buf.length)] ^= 1 << int(random, 8);
      return buf;
    }
    case 1:
      return buf.subarray(0, int(random, buf.length));
    case 2: {
      // a length or count field made huge
      if (buf.length < 4) return buf;
      buf.writeUInt32BE(pick(random, HUGE_I32), int(random, buf.length - 3));
      return buf;
    }
    case 3: {
      if (buf.length < 2) return buf;
      buf.writeUInt16BE(pick(random, [0xffff, 0x8000, 0x7fff, 0x0100]), int(random, buf.length - 1));
      return buf;
    }
    case 4: {
      const at = int(random, buf.length);
      return Buffer.concat([buf.subarray(0, at), randomBytes(random, 1 + int(random, 8)), buf.subarray(at)]);
    }
    case 5: {
      const at = int(random, buf.length);
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + int(random, 8))]);
    }
    case 6: {
      // Repeat a slice: duplicated elements, counts that no longer match.
      const at = int(random, buf.length);
      const slice = buf.subarray(at, at + 1 + int(random, 32));
      return Buffer.concat([buf.subarray(0, at), slice, slice, buf.subarray(at + slice.length)]);
    }
    default:
      buf[int(random, buf.length)] = pick(random, [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff]);
      return buf;
  }
}

export function randomBytes(random: Random, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = int(random, 256);
  return buf;
}
