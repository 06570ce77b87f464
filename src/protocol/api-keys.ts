// API keys and the version ranges Freshet advertises in ApiVersions.
//
// The SC and the SPU number their APIs independently and reuse numbers
// (1002 is Delete on the SC but FetchOffsets on the SPU), so each side has
// its own table. The ranges copy what the real Fluvio 0.11.11 SC and SPU
// advertise; the client picks min(client max, server max) per key.

export const ScApiKey = {
  ApiVersions: 18,
  Create: 1001,
  Delete: 1002,
  List: 1003,
  Watch: 1004,
  Mirroring: 1005,
  Update: 1006,
} as const;

export const SpuApiKey = {
  ApiVersions: 18,
  Produce: 0,
  Fetch: 1,
  FetchOffsets: 1002,
  StreamFetch: 1003,
  UpdateOffsets: 1005,
  UpdateConsumerOffset: 1006,
  DeleteConsumerOffset: 1007,
  FetchConsumerOffsets: 1008,
} as const;

/** Every key by name; the SPU's FetchOffsets and the SC's Delete are both 1002, and so on. */
export const ApiKey = {
  ...SpuApiKey,
  Create: ScApiKey.Create,
  Delete: ScApiKey.Delete,
  List: ScApiKey.List,
  Watch: ScApiKey.Watch,
  Mirroring: ScApiKey.Mirroring,
  Update: ScApiKey.Update,
} as const;

export interface ApiVersionKey {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** The SC's list, as the real SC sends it (ApiVersions itself is not listed). */
export const SC_API_VERSIONS: readonly ApiVersionKey[] = Object.freeze([
  { apiKey: ScApiKey.Create, minVersion: 9, maxVersion: 16 },
  { apiKey: ScApiKey.Delete, minVersion: 1, maxVersion: 16 },
  { apiKey: ScApiKey.List, minVersion: 15, maxVersion: 16 },
  { apiKey: ScApiKey.Watch, minVersion: 15, maxVersion: 16 },
  { apiKey: ScApiKey.Mirroring, minVersion: 14, maxVersion: 16 },
  { apiKey: ScApiKey.Update, minVersion: 1, maxVersion: 16 },
]);

/**
 * The SPU's list: the real SPU's rows, plus the consumer-offset APIs
 * (1006..1008, which need the v23 consumer_id; extra keys are ignored by
 * clients that do not use them).
 */
export const SPU_API_VERSIONS: readonly ApiVersionKey[] = Object.freeze([
  { apiKey: SpuApiKey.Produce, minVersion: 0, maxVersion: 23 },
  { apiKey: SpuApiKey.Fetch, minVersion: 0, maxVersion: 23 },
  { apiKey: SpuApiKey.FetchOffsets, minVersion: 23, maxVersion: 23 },
  { apiKey: SpuApiKey.StreamFetch, minVersion: 0, maxVersion: 23 },
  { apiKey: SpuApiKey.UpdateOffsets, minVersion: 0, maxVersion: 0 },
  { apiKey: SpuApiKey.UpdateConsumerOffset, minVersion: 22, maxVersion: 23 },
  { apiKey: SpuApiKey.DeleteConsumerOffset, minVersion: 22, maxVersion: 23 },
  { apiKey: SpuApiKey.FetchConsumerOffsets, minVersion: 22, maxVersion: 23 },
]);

/** The real SPU's list exactly (as captured), without the consumer-offset keys. */
export const SPU_API_VERSIONS_FLUVIO: readonly ApiVersionKey[] = Object.freeze(SPU_API_VERSIONS.slice(0, 5));

/**
 * Client-side negotiation as Fluvio does it: the highest version both sides
 * support, or undefined when the server lacks the key or the ranges do not meet.
 */
export function negotiateVersion(
  serverKeys: readonly ApiVersionKey[],
  apiKey: number,
  clientMin: number,
  clientMax: number,
): number | undefined {
  const server = serverKeys.find((key) => key.apiKey === apiKey);
  if (!server || server.maxVersion < clientMin || server.minVersion > clientMax) return undefined;
  return Math.min(clientMax, server.maxVersion);
}
