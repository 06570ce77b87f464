// The requests the client sends, with the version range it speaks for each
// (the same ranges as Fluvio's client; the highest one the server also
// speaks is used).

import { ScApiKey, SpuApiKey } from '../protocol/index.js';
import type { ApiSpec } from './connection.js';
import { decodeProduceResponse, encodeProduceRequest, type ProduceRequest, type ProduceResponse } from '../protocol/index.js';
import {
  decodeFetchOffsetsResponse,
  encodeFetchOffsetsRequest,
  type FetchOffsetsRequest,
  type FetchOffsetsResponse,
} from '../protocol/index.js';
import {
  decodeStreamFetchResponse,
  encodeStreamFetchRequest,
  type StreamFetchRequest,
  type StreamFetchResponse,
} from '../protocol/index.js';
import {
  decodeUpdateOffsetsResponse,
  encodeUpdateOffsetsRequest,
  type UpdateOffsetsRequest,
  type UpdateOffsetsResponse,
} from '../protocol/index.js';
import {
  decodeDeleteConsumerOffsetResponse,
  decodeFetchConsumerOffsetsResponse,
  decodeUpdateConsumerOffsetResponse,
  encodeDeleteConsumerOffsetRequest,
  encodeFetchConsumerOffsetsRequest,
  encodeUpdateConsumerOffsetRequest,
  type DeleteConsumerOffsetRequest,
  type DeleteConsumerOffsetResponse,
  type FetchConsumerOffsetsRequest,
  type FetchConsumerOffsetsResponse,
  type UpdateConsumerOffsetRequest,
  type UpdateConsumerOffsetResponse,
} from '../protocol/index.js';
import { decodeCreateResponse, encodeCreateRequest, type CreateRequest, type CreateResponse } from '../protocol/index.js';
import { decodeDeleteResponse, encodeDeleteRequest, type DeleteRequest, type DeleteResponse } from '../protocol/index.js';
import { decodeListResponse, encodeListRequest, type ListRequest, type ListResponse } from '../protocol/index.js';
import { decodeNodeInfoResponse, encodeNodeInfoRequest, NODE_INFO_API_KEY, type NodeInfoRequest, type NodeInfoResponse } from '../protocol/index.js';

export const ProduceApi: ApiSpec<ProduceRequest, ProduceResponse> = {
  name: 'Produce',
  key: SpuApiKey.Produce,
  minVersion: 0,
  maxVersion: 23,
  encode: encodeProduceRequest,
  decode: decodeProduceResponse,
};

export const FetchOffsetsApi: ApiSpec<FetchOffsetsRequest, FetchOffsetsResponse> = {
  name: 'FetchOffsets',
  key: SpuApiKey.FetchOffsets,
  minVersion: 22,
  maxVersion: 23,
  encode: encodeFetchOffsetsRequest,
  decode: decodeFetchOffsetsResponse,
};

/** v18 carries the SmartModule chain; v23 the consumer id. */
export const StreamFetchApi: ApiSpec<StreamFetchRequest, StreamFetchResponse> = {
  name: 'StreamFetch',
  key: SpuApiKey.StreamFetch,
  minVersion: 18,
  maxVersion: 23,
  encode: encodeStreamFetchRequest,
  decode: decodeStreamFetchResponse,
};

export const UpdateOffsetsApi: ApiSpec<UpdateOffsetsRequest, UpdateOffsetsResponse> = {
  name: 'UpdateOffsets',
  key: SpuApiKey.UpdateOffsets,
  minVersion: 0,
  maxVersion: 0,
  encode: encodeUpdateOffsetsRequest,
  decode: decodeUpdateOffsetsResponse,
};

export const UpdateConsumerOffsetApi: ApiSpec<UpdateConsumerOffsetRequest, UpdateConsumerOffsetResponse> = {
  name: 'UpdateConsumerOffset',
  key: SpuApiKey.UpdateConsumerOffset,
  minVersion: 22,
  maxVersion: 23,
  encode: encodeUpdateConsumerOffsetRequest,
  decode: decodeUpdateConsumerOffsetResponse,
};

export const DeleteConsumerOffsetApi: ApiSpec<DeleteConsumerOffsetRequest, DeleteConsumerOffsetResponse> = {
  name: 'DeleteConsumerOffset',
  key: SpuApiKey.DeleteConsumerOffset,
  minVersion: 22,
  maxVersion: 23,
  encode: encodeDeleteConsumerOffsetRequest,
  decode: decodeDeleteConsumerOffsetResponse,
};

export const FetchConsumerOffsetsApi: ApiSpec<FetchConsumerOffsetsRequest, FetchConsumerOffsetsResponse> = {
  name: 'FetchConsumerOffsets',
  key: SpuApiKey.FetchConsumerOffsets,
  minVersion: 22,
  maxVersion: 23,
  encode: encodeFetchConsumerOffsetsRequest,
  decode: decodeFetchConsumerOffsetsResponse,
};

export const CreateApi: ApiSpec<CreateRequest, CreateResponse> = {
  name: 'Create',
  key: ScApiKey.Create,
  minVersion: 9,
  maxVersion: 16,
  encode: encodeCreateRequest,
  decode: decodeCreateResponse,
};

export const DeleteApi: ApiSpec<DeleteRequest, DeleteResponse> = {
  name: 'Delete',
  key: ScApiKey.Delete,
  minVersion: 1,
  maxVersion: 16,
  encode: encodeDeleteRequest,
  decode: decodeDeleteResponse,
};

export const ListApi: ApiSpec<ListRequest, ListResponse> = {
  name: 'List',
  key: ScApiKey.List,
  minVersion: 15,
  maxVersion: 16,
  encode: encodeListRequest,
  decode: decodeListResponse,
};

/** Freshet's own: where the node's HTTP API is (a Fluvio SC does not answer it). */
export const NodeInfoApi: ApiSpec<NodeInfoRequest, NodeInfoResponse> = {
  name: 'NodeInfo',
  key: NODE_INFO_API_KEY,
  minVersion: 0,
  maxVersion: 0,
  encode: encodeNodeInfoRequest,
  decode: decodeNodeInfoResponse,
};
