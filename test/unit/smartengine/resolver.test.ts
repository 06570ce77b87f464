import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinSmartModule } from '../../../src/smartengine/builtins.js';
import { resolveSmartModule, smartModuleLookup } from '../../../src/smartengine/resolver.js';

const REGISTERED = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);

describe('SmartModule resolver', () => {
  it('a module registered under a built-in name wins over the built-in', async () => {
    const asked: string[] = [];
    const resolved = await resolveSmartModule('infinyon/regex-filter', async (name) => {
      asked.push(name);
      return name === 'infinyon/regex-filter' ? REGISTERED : undefined;
    });
    assert.deepEqual(resolved, { wasm: REGISTERED, source: 'registered', name: 'infinyon/regex-filter' });
    assert.deepEqual(asked, ['infinyon/regex-filter']);
    assert.equal(await smartModuleLookup(async () => REGISTERED)('infinyon/jolt'), REGISTERED);
  });

  it('falls back to the built-in, under its canonical name, when nothing is registered', async () => {
    const resolved = await resolveSmartModule('infinyon-labs/regex-filter@0.2.0', async () => undefined);
    assert.equal(resolved?.source, 'builtin');
    assert.equal(resolved?.name, 'infinyon/regex-filter');
    assert.equal(resolved?.wasm, await builtinSmartModule('infinyon/regex-filter'));
  });

  it('is undefined for a name that is neither registered nor built in', async () => {
    assert.equal(await resolveSmartModule('someone/thing', async () => undefined), undefined);
    assert.equal(await smartModuleLookup(async () => undefined)('someone/thing'), undefined);
  });

  it('a failing registered lookup is not papered over with a built-in', async () => {
    await assert.rejects(
      resolveSmartModule('infinyon/jolt', () => Promise.reject(new Error('registry unreadable'))),
      /registry unreadable/,
    );
  });
});
