// Isolation. Its wire form differs per API: Produce writes an i16 "acks"
// (1 / -1), StreamFetch a u8 enum (0 ReadUncommitted, 1 ReadCommitted).

export const Isolation = {
  ReadUncommitted: 0,
  ReadCommitted: 1,
} as const;

export type IsolationLevel = (typeof Isolation)[keyof typeof Isolation];
