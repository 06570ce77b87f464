import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveEndpoint, DEFAULT_ENDPOINT } from '../../../src/client/profile.js';
import { parseEndpoint } from '../../../src/client/connection.js';
import { resolveStartOffset, Offset, smartModuleInvocation } from '../../../src/client/consumer.js';
import { FreshetError } from '../../../src/client/errors.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function profileFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'freshet-profile-'));
  dirs.push(dir);
  const file = path.join(dir, 'config');
  await writeFile(file, text);
  return file;
}

const CONFIG = `
version = "2.0"
current_profile = "local"

[profile.local]
cluster = "local"

[profile.other]
cluster = "remote"

[cluster.local]
endpoint = "127.0.0.1:9103"
use_spu_local_address = false

[cluster.local.tls]
tls_policy = "disabled"

[cluster.remote]
addr = "10.1.2.3:9003"
`;

test('endpoint: option, then FRESHET_ENDPOINT, then the current profile, then the default', async () => {
  const file = await profileFile(CONFIG);
  const env = { FRESHET_PROFILE_PATH: file };
  assert.deepEqual(resolveEndpoint({ endpoint: '127.0.0.1:1' }, { ...env, FRESHET_ENDPOINT: '127.0.0.1:2' }), { endpoint: '127.0.0.1:1', source: 'option' });
  assert.deepEqual(resolveEndpoint({}, { ...env, FRESHET_ENDPOINT: '127.0.0.1:2' }), { endpoint: '127.0.0.1:2', source: 'env' });
  assert.deepEqual(resolveEndpoint({}, env), { endpoint: '127.0.0.1:9103', source: 'profile:local' });
  // Fluvio reads `addr` as an alias of `endpoint`.
  assert.deepEqual(resolveEndpoint({ profile: 'other' }, env), { endpoint: '10.1.2.3:9003', source: 'profile:other' });
  assert.deepEqual(resolveEndpoint({}, { FRESHET_PROFILE_PATH: path.join(path.dirname(file), 'missing') }), {
    endpoint: DEFAULT_ENDPOINT,
    source: 'default',
  });
});

test('endpoint: clear errors for a missing profile or a broken file', async () => {
  const file = await profileFile(CONFIG);
  assert.throws(() => resolveEndpoint({ profile: 'nope' }, { FRESHET_PROFILE_PATH: file }), (err: FreshetError) => {
    assert.equal(err.code, 'CONFIG');
    assert.match(err.message, /profile "nope" not found .*profiles: local, other/);
    return true;
  });
  const broken = await profileFile('current_profile = [');
  assert.throws(() => resolveEndpoint({}, { FRESHET_PROFILE_PATH: broken }), /not valid TOML/);
});

test('endpoints parse as host:port, [v6]:port, or a bare host', () => {
  assert.deepEqual(parseEndpoint('127.0.0.1:9003'), { host: '127.0.0.1', port: 9003 });
  assert.deepEqual(parseEndpoint('[::1]:9010'), { host: '::1', port: 9010 });
  assert.deepEqual(parseEndpoint('localhost'), { host: 'localhost', port: 9003 });
  assert.throws(() => parseEndpoint('host:notaport'), /expected host:port/);
});

test('start offsets resolve as Fluvio resolves them', () => {
  // log holds offsets 10..19 (start 10, end 20)
  assert.equal(resolveStartOffset('beginning', 10, 20), 10);
  assert.equal(resolveStartOffset('end', 10, 20), 20);
  assert.equal(resolveStartOffset(Offset.beginning(3), 10, 20), 13);
  assert.equal(resolveStartOffset(Offset.end(3), 10, 20), 17);
  assert.equal(resolveStartOffset(Offset.end(50), 10, 20), 10, 'clamped to the start');
  assert.equal(resolveStartOffset(Offset.beginning(50), 10, 20), 20, 'clamped to the end');
  assert.equal(resolveStartOffset(Offset.absolute(15), 10, 20), 15);
  assert.equal(resolveStartOffset(4, 10, 20), 4, 'absolute is not clamped');
  // A named consumer's stored offset (+1) replaces the start or the end.
  assert.equal(resolveStartOffset('beginning', 10, 20, 16), 16);
  assert.equal(resolveStartOffset('end', 10, 20, 16), 16);
  assert.equal(resolveStartOffset(Offset.absolute(11), 10, 20, 16), 11);
});

test('SmartModule invocations: by name or gzipped wasm, generic by default, params and aggregate', () => {
  const byName = smartModuleInvocation({ name: 'my-filter', params: { key: 'value' } });
  assert.deepEqual(byName.wasm, { type: 'Predefined', name: 'my-filter' });
  assert.deepEqual(byName.kind, { type: 'Generic', context: { type: 'None' } });
  assert.deepEqual([...byName.params.params], [['key', 'value']]);
  const adHoc = smartModuleInvocation({ wasm: Buffer.from('\0asm'), accumulator: '0', lookback: { last: 5, ageMs: 1500 } });
  assert.equal(adHoc.wasm.type, 'AdHoc');
  assert.deepEqual([...(adHoc.wasm as { payload: Buffer }).payload.subarray(0, 2)], [0x1f, 0x8b]);
  assert.deepEqual(adHoc.kind, { type: 'Generic', context: { type: 'Aggregate', accumulator: Buffer.from('0') } });
  assert.deepEqual(adHoc.params.lookback, { last: 5, age: { seconds: 1, nanos: 500_000_000 } });
  assert.throws(() => smartModuleInvocation({}), /exactly one/);
});
