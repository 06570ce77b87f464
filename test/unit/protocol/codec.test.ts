import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, encodeFrame, Reader, Writer } from '../../../src/protocol/codec.js';

const hex = (value: string) => Buffer.from(value.replace(/\s+/g, ''), 'hex');

test('codec: fixed-width integers are big-endian', () => {
  const w = new Writer();
  w.i8(-2).u8(255).i16(-3).u16(0xfffe).i32(-4).u32(0xfffffffd).i64(-5).u64(2 ** 53 - 1);
  const buf = w.finish();
  assert.deepEqual(buf, hex('fe ff fffd fffe fffffffc fffffffd fffffffffffffffb 001fffffffffffff'));
  const r = new Reader(buf);
  assert.deepEqual(
    [r.i8(), r.u8(), r.i16(), r.u16(), r.i32(), r.u32(), r.i64(), r.u64()],
    [-2, 255, -3, 0xfffe, -4, 0xfffffffd, -5, 2 ** 53 - 1],
  );
  r.expectEnd('integers');
});

test('codec: 64-bit values beyond the safe range are refused', () => {
  assert.throws(() => new Reader(hex('0020000000000000')).i64('offset'), /offset at offset 0 does not fit a safe integer/);
  assert.throws(() => new Reader(hex('ffe0000000000000')).i64(), DecodeError);
  assert.equal(new Reader(hex('ffe0000000000001')).i64(), -(2 ** 53 - 1));
  assert.throws(() => new Reader(hex('ffffffffffffffff')).u64(), DecodeError);
  assert.throws(() => new Writer().i64(2 ** 53), RangeError);
  assert.throws(() => new Writer().u64(-1), RangeError);
});

test('codec: bool accepts only 0 and 1', () => {
  const r = new Reader(hex('00 01 02'));
  assert.equal(r.bool(), false);
  assert.equal(r.bool(), true);
  assert.throws(() => r.bool('dry_run'), /dry_run at offset 2 is 2, not a bool/);
});

test('codec: strings are u16-length UTF-8, invalid UTF-8 is refused', () => {
  const w = new Writer();
  w.string('').string('demo').string('héllo ✓');
  const r = new Reader(w.finish());
  assert.equal(r.string(), '');
  assert.equal(r.string(), 'demo');
  assert.equal(r.string(), 'héllo ✓');
  r.expectEnd('strings');
  assert.throws(() => new Reader(hex('0002 c328')).string('name'), /name at offset 2 is not valid UTF-8/);
  assert.throws(() => new Reader(hex('0005 6162')).string('topic'), /truncated topic: need 5 byte\(s\) at offset 2, only 2 remain/);
  assert.throws(() => new Writer().string('x'.repeat(0x8000)), RangeError);
  assert.equal(new Writer().string('x'.repeat(0x7fff)).length, 0x8001);
});

test('codec: optional and array', () => {
  const w = new Writer();
  w.optional(undefined, () => assert.fail());
  w.optional('x', (value) => w.string(value));
  w.array([1, 2, 3], (n) => w.i32(n));
  const r = new Reader(w.finish());
  assert.equal(r.optional(() => r.string()), undefined);
  assert.equal(r.optional(() => r.string()), 'x');
  assert.deepEqual(r.array(() => r.i32()), [1, 2, 3]);
  assert.deepEqual(new Reader(hex('ffffffff')).array(() => assert.fail()), [], 'negative count is empty');
  assert.throws(
    () => new Reader(hex('7fffffff 00')).array(() => 0, 'topics'),
    /topics count 2147483647 exceeds the limit/,
  );
  assert.throws(() => new Reader(hex('00001000 0000')).array(() => 0, 'partitions', 4), /cannot fit in the 2 remaining/);
});

test('codec: maps write sorted keys and refuse impossible counts', () => {
  const w = new Writer();
  w.map(
    new Map([
      ['b', 'B'],
      ['a', 'A'],
    ]),
    (x, y) => (x < y ? -1 : 1),
    (key) => w.string(key),
    (value) => w.string(value),
  );
  const buf = w.finish();
  assert.deepEqual(buf, hex('0002 0001 61 0001 41 0001 62 0001 42'));
  const r = new Reader(buf);
  assert.deepEqual([...r.map(() => r.string(), () => r.string())], [
    ['a', 'A'],
    ['b', 'B'],
  ]);
  assert.throws(() => new Reader(hex('ffff 00')).map(() => 0, () => 0, 'params'), /params count 65535 cannot fit/);
});

test('codec: bytes and raw return subarrays and respect limits', () => {
  const buf = hex('00000003 aabbcc dd');
  const r = new Reader(buf);
  const bytes = r.bytes();
  assert.deepEqual(bytes, hex('aabbcc'));
  assert.equal(bytes.buffer, buf.buffer);
  assert.throws(() => r.raw(2, 'tail'), /truncated tail/);
  assert.throws(() => new Reader(hex('ffffffff 00')).bytes('wasm'), /wasm length 4294967295 exceeds the limit/);
  const limited = new Reader(hex('00000004 01020304'), 0, 8, { maxArrayLength: 10, maxBytesLength: 3 });
  assert.throws(() => limited.bytes('payload'), /payload length 4 exceeds the limit of 3/);
});

test('codec: zigzag varints match Fluvio', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [5, '0a'],
    [12, '18'],
    [17, '22'],
    [63, '7e'],
    [64, '8001'],
    [-64, '7f'],
    [300, 'd804'],
    [2 ** 31 - 1, 'feffffff0f'],
    [-(2 ** 31), 'ffffffff0f'],
    [2 ** 40, '808080808040'],
    [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'],
    [-Number.MAX_SAFE_INTEGER, 'fdffffffffffff1f'],
  ];
  for (const [value, bytes] of cases) {
    const encoded = new Writer().varint(value).finish();
    assert.equal(encoded.toString('hex'), bytes, `encode ${value}`);
    const r = new Reader(encoded);
    assert.equal(r.varint(), value, `decode ${bytes}`);
    r.expectEnd('varint');
  }
  assert.throws(() => new Reader(hex('80808080808080808080 00')).varint('len'), /longer than 10 bytes/);
  assert.throws(() => new Reader(hex('8080')).varint('len'), /truncated len/);
  assert.throws(() => new Reader(hex('ffffffffffffffff7f')).varint('delta'), /does not fit a safe integer/);
});

test('codec: durations are u64 seconds + u32 nanos', () => {
  const buf = new Writer().duration({ seconds: 20, nanos: 5 }).finish();
  assert.deepEqual(buf, hex('0000000000000014 00000005'));
  assert.deepEqual(new Reader(buf).duration(), { seconds: 20, nanos: 5 });
});

test('codec: expectEnd names the message', () => {
  const r = new Reader(hex('0102'));
  r.u8();
  assert.throws(() => r.expectEnd('Produce request'), /Produce request: 1 unexpected trailing byte\(s\) at offset 1/);
});

test('codec: sub-readers are windows', () => {
  const r = new Reader(hex('0001 02 03'));
  const sub = r.sub(2, 'payload');
  assert.equal(sub.u16(), 1);
  assert.throws(() => sub.u8('beyond'), /truncated beyond/);
  assert.equal(r.u8(), 2);
  assert.throws(() => r.sub(5, 'payload'), /truncated payload/);
  assert.throws(() => new Reader(hex('00'), 2), RangeError);
});

test('codec: the writer keeps large raw runs by reference and patches length prefixes across growth', () => {
  const big = Buffer.alloc(4096, 0xab);
  const w = new Writer(16);
  w.string('topic');
  w.i32LengthPrefixed(() => {
    w.raw(Buffer.from([1, 2, 3]));
    w.raw(big);
    for (let i = 0; i < 100; i++) w.i64(i);
  });
  w.u32LengthPrefixed(() => w.string('tail'));
  const expectedLength = 7 + 4 + 3 + 4096 + 800 + 4 + 6;
  assert.equal(w.length, expectedLength);
  const chunks = w.finishChunks();
  assert.ok(chunks.includes(big), 'the big run is a chunk of its own, not a copy');
  const flat = Buffer.concat(chunks);
  assert.equal(flat.length, expectedLength);
  const r = new Reader(flat);
  assert.equal(r.string(), 'topic');
  assert.equal(r.i32(), 3 + 4096 + 800);
  assert.deepEqual(r.raw(3), Buffer.from([1, 2, 3]));
  assert.deepEqual(r.raw(4096), big);
  for (let i = 0; i < 100; i++) assert.equal(r.i64(), i);
  assert.equal(r.u32(), 6);
  assert.equal(r.string(), 'tail');
  r.expectEnd('writer output');
});

test('codec: finish returns one buffer; encodeFrame prepends the length', () => {
  const w = new Writer();
  w.i32(7).raw(Buffer.alloc(1000, 1));
  const whole = w.finish();
  assert.equal(whole.length, 1004);
  const frame = Buffer.concat(encodeFrame([hex('0102'), hex('03')]));
  assert.deepEqual(frame, hex('00000003 010203'));
});
