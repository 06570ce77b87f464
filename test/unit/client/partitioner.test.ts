import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPartition, Partitioner, siphash24 } from '../../../src/client/partitioner.js';

test('SipHash-2-4 matches the reference vectors (key 00..0f, messages 00..n-1)', () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  const vectors: [number, string][] = [
    [0, '726fdb47dd0e0e31'],
    [1, '74f839c593dc67fd'],
    [7, 'ab0200f58b01d137'],
    [8, '93f5f5799a932462'],
    [15, 'a129ca6149be45e5'],
    [63, '958a324ceb064572'],
  ];
  for (const [length, expected] of vectors) {
    const message = Uint8Array.from({ length }, (_, i) => i);
    assert.equal(siphash24(message, key).toString(16).padStart(16, '0'), expected, `length ${length}`);
  }
});

test('keyed partitions are stable, in range, and spread over the partitions', () => {
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < 1000; i++) {
    const partition = keyPartition(Buffer.from(`key-${i}`), 5);
    assert.equal(keyPartition(Buffer.from(`key-${i}`), 5), partition);
    counts[partition]++;
  }
  for (const count of counts) assert.ok(count > 150 && count < 250, `uneven spread ${counts}`);
  // An empty key is a key (Fluvio hashes it), not "no key".
  assert.equal(keyPartition(Buffer.alloc(0), 7), keyPartition(new Uint8Array(0), 7));
});

test('keyless records go round-robin from partition 0, per partitioner', () => {
  const partitioner = new Partitioner();
  assert.deepEqual(Array.from({ length: 7 }, () => partitioner.partition(null, 3)), [0, 1, 2, 0, 1, 2, 0]);
  assert.equal(new Partitioner().partition(undefined, 3), 0);
  assert.throws(() => keyPartition(Buffer.from('k'), 0), RangeError);
});
