// Requests in flight when their topic is deleted answer TopicDeleted, never a
// storage error: a stream whose read is under way, a stream fetch and a
// produce whose SmartModule chain is starting.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as p from '../../src/protocol/index.js';
import { builtinSmartModule } from '../../src/smartengine/builtins.js';
import { RawClient, PRODUCE_VERSION, STREAM_FETCH_VERSION, produceValues } from '../helpers/raw-client.js';
import { gate, startTestSpu } from '../helpers/spu.js';

const keepAll: p.SmartModuleInvocation = {
  wasm: { type: 'Predefined', name: 'infinyon/regex-filter' },
  kind: { type: 'Filter' },
  params: { params: new Map([['regex', '.']]) },
};

/** Frames of one stream until the first that carries an error (the stream's last). */
function openStream(client: RawClient, topic: string, smartmodules: p.SmartModuleInvocation[]): Promise<p.StreamFetchResponse[]> {
  return new Promise((resolve) => {
    const frames: p.StreamFetchResponse[] = [];
    client.openStream(
      p.SpuApiKey.StreamFetch,
      STREAM_FETCH_VERSION,
      (w) =>
        p.encodeStreamFetchRequest(
          w,
          { topic, partition: 0, fetchOffset: 0, maxBytes: 1 << 20, isolation: p.Isolation.ReadUncommitted, smartmodules },
          STREAM_FETCH_VERSION,
        ),
      (frame) => {
        const response = p.decodeStreamFetchResponse(frame.body, STREAM_FETCH_VERSION);
        frames.push(response);
        if (response.partition.errorCode.code !== p.ErrorCode.None) resolve(frames);
      },
    );
  });
}

/** A SmartModule lookup that holds every look-up until the test opens its gate. */
function heldLookup() {
  const held = gate();
  const entered = gate();
  const lookup = async (name: string) => {
    entered.open();
    await held.promise;
    return builtinSmartModule(name);
  };
  return { lookup, entered: entered.promise, release: held.open };
}

test('a stream whose read is under way (and then fails) when its topic is deleted ends with TopicDeleted', async () => {
  let holdReads = false;
  const held = gate();
  const entered = gate();
  const spu = await startTestSpu({
    storageHooks: {
      async beforeRead(file) {
        if (!holdReads) return;
        entered.open();
        await held.promise;
        // Whatever a read of a deleted partition fails with, its consumer hears TopicDeleted.
        throw Object.assign(new Error(`EIO: ${file} went away`), { code: 'EIO' });
      },
    },
  });
  const client = await RawClient.connect(spu.port);
  try {
    const topic = await spu.createTopic('tailed');
    assert.equal((await produceValues(client, 'tailed', 0, ['a', 'b', 'c'])).errorCode.code, p.ErrorCode.None);
    holdReads = true;
    const frames = openStream(client, 'tailed', []);
    await entered.promise;
    // The files go while the read waits (a read does not hold the delete up).
    await spu.deleteTopic(topic);
    held.open();
    const last = (await frames).at(-1)!;
    assert.equal(last.partition.errorCode.code, p.ErrorCode.TopicDeleted);
    assert.equal(client.isClosed, false);
  } finally {
    await client.close();
    await spu.stop();
  }
});

test('a stream fetch whose SmartModule chain is starting when its topic is deleted is refused with TopicDeleted', async () => {
  const held = heldLookup();
  const spu = await startTestSpu({ lookup: held.lookup });
  const client = await RawClient.connect(spu.port);
  try {
    const topic = await spu.createTopic('raced');
    assert.equal((await produceValues(client, 'raced', 0, ['a', 'b'])).errorCode.code, p.ErrorCode.None);
    const frames = openStream(client, 'raced', [keepAll]);
    await held.entered;
    await spu.deleteTopic(topic);
    held.release();
    const answered = await frames;
    assert.deepEqual(answered.map((frame) => frame.partition.errorCode.code), [p.ErrorCode.TopicDeleted]);
    assert.equal(client.isClosed, false);
  } finally {
    await client.close();
    await spu.stop();
  }
});

test('a produce whose SmartModule chain is starting when its topic is deleted is answered with TopicDeleted', async () => {
  const held = heldLookup();
  const spu = await startTestSpu({ lookup: held.lookup });
  const client = await RawClient.connect(spu.port);
  try {
    const topic = await spu.createTopic('produced');
    const answer = client.request(p.SpuApiKey.Produce, PRODUCE_VERSION, (w) =>
      p.encodeProduceRequest(
        w,
        {
          isolation: p.Isolation.ReadUncommitted,
          timeoutMs: 1500,
          topics: [{ name: 'produced', partitions: [{ partitionIndex: 0, records: p.encodeBatch([{ key: null, value: Buffer.from('x') }]) }] }],
          smartmodules: [keepAll],
        },
        PRODUCE_VERSION,
      ),
    );
    await held.entered;
    await spu.deleteTopic(topic);
    held.release();
    const response = p.decodeProduceResponse((await answer).body, PRODUCE_VERSION);
    assert.equal(response.responses[0].partitions[0].errorCode.code, p.ErrorCode.TopicDeleted);
  } finally {
    await client.close();
    await spu.stop();
  }
});
