// When the producer closes a batch: at once when its leader has no request
// in flight, lingering only while one is (unless lingerMs is set). The leader
// is a fake connection that records each Produce request and answers when the
// test says; setTimeout is mocked, so the linger timer fires only when the
// test moves the clock, and "did not wait for the linger" needs no timing.

import { test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiSpec, Link } from '../../../src/client/connection.js';
import type { ClientContext } from '../../../src/client/context.js';
import type { MetadataClient, TopicInfo } from '../../../src/client/metadata.js';
import { Producer, type ProducerOptions } from '../../../src/client/producer.js';
import type { ProduceRequest, ProduceResponse } from '../../../src/protocol/messages/produce.js';
import { decodeRecords, splitRecordSet } from '../../../src/protocol/record-batch.js';
import { ErrorCode } from '../../../src/protocol/error-code.js';

const TOPIC = 'linger';

interface Sent {
  values: string[];
  answer: () => void;
}

/** A leader connection that keeps every Produce request unanswered until `answer()`. */
class FakeLeader {
  readonly requests: Sent[] = [];
  private nextOffset = 0;
  readonly isClosed = false;

  send(_api: ApiSpec<unknown, unknown>, request: ProduceRequest): Promise<ProduceResponse> {
    const partitions = request.topics[0].partitions;
    const values = partitions.flatMap((p) => splitRecordSet(p.records).flatMap((batch) => decodeRecords(batch).map((r) => r.value.toString())));
    return new Promise((resolve) => {
      this.requests.push({
        values,
        answer: () => {
          const answers = partitions.map((p) => {
            const baseOffset = this.nextOffset;
            this.nextOffset += splitRecordSet(p.records).reduce((n, batch) => n + decodeRecords(batch).length, 0);
            return { partitionIndex: p.partitionIndex, errorCode: { code: ErrorCode.None }, baseOffset, logAppendTimeMs: -1, logStartOffset: 0 };
          });
          resolve({ responses: [{ name: TOPIC, partitions: answers }], throttleTimeMs: 0 });
        },
      });
    });
  }
}

async function producerTo(leader: FakeLeader, options: ProducerOptions = {}): Promise<Producer> {
  const address = { host: '127.0.0.1', port: 9005 };
  const link = { connection: async () => leader, endpoint: '127.0.0.1:9005' } as unknown as Link;
  const metadata = {
    leaders: async () => ({ topic: { name: TOPIC, partitions: 1, compression: 'any' } as TopicInfo, leaders: [address] }),
  } as unknown as MetadataClient;
  const context: ClientContext = { sc: link, metadata, spuLink: () => link, linkOptions: {}, isClosed: false };
  return Producer.create(context, TOPIC, options);
}

/** A few turns of the event loop: enough for a batch closed at the next turn to reach the connection. */
async function turns(count = 3): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

test('default: a record sent while nothing is in flight goes out at once, without waiting for the linger', async () => {
  const leader = new FakeLeader();
  const producer = await producerTo(leader);
  const sent = producer.send(null, 'a');
  await turns();
  assert.deepEqual(leader.requests.map((r) => r.values), [['a']]);
  leader.requests[0].answer();
  assert.equal(await sent, 0);
  // Idle again: the next record goes out at once too.
  const next = producer.send(null, 'b');
  await turns();
  assert.deepEqual(leader.requests.map((r) => r.values), [['a'], ['b']]);
  leader.requests[1].answer();
  assert.equal(await next, 1);
});

test('default: records of one synchronous loop share a batch', async () => {
  const leader = new FakeLeader();
  const producer = await producerTo(leader);
  const sends = ['a', 'b', 'c'].map((value) => producer.send(null, value));
  await turns();
  assert.deepEqual(leader.requests.map((r) => r.values), [['a', 'b', 'c']]);
  leader.requests[0].answer();
  assert.deepEqual(await Promise.all(sends), [0, 1, 2]);
});

test('default: records sent while a request is in flight accumulate into one batch, sent when the answer comes', async () => {
  const leader = new FakeLeader();
  const producer = await producerTo(leader);
  const first = producer.send(null, 'a');
  await turns();
  const later: Promise<number>[] = [];
  for (const value of ['b', 'c', 'd']) {
    later.push(producer.send(null, value));
    await turns();
  }
  assert.equal(leader.requests.length, 1, 'nothing more goes out while the first request is unanswered and the linger has not passed');
  leader.requests[0].answer();
  assert.equal(await first, 0);
  await turns();
  assert.deepEqual(leader.requests.map((r) => r.values), [['a'], ['b', 'c', 'd']]);
  leader.requests[1].answer();
  assert.deepEqual(await Promise.all(later), [1, 2, 3]);
});

test('default: while a request stays unanswered, the waiting batch goes out once the linger (5 ms) has passed', async () => {
  const leader = new FakeLeader();
  const producer = await producerTo(leader);
  void producer.send(null, 'a');
  await turns();
  const waiting = producer.send(null, 'b');
  await turns();
  mock.timers.tick(4);
  await turns();
  assert.equal(leader.requests.length, 1);
  mock.timers.tick(1);
  await turns();
  assert.deepEqual(leader.requests.map((r) => r.values), [['a'], ['b']], 'a second request in flight (maxInFlightRequests 5)');
  for (const request of leader.requests) request.answer();
  assert.equal(await waiting, 1);
});

test('an explicit lingerMs waits even when nothing is in flight', async () => {
  const leader = new FakeLeader();
  const producer = await producerTo(leader, { lingerMs: 5 });
  const sent = producer.send(null, 'a');
  await turns();
  assert.equal(leader.requests.length, 0);
  mock.timers.tick(5);
  await turns();
  assert.deepEqual(leader.requests.map((r) => r.values), [['a']]);
  leader.requests[0].answer();
  assert.equal(await sent, 0);
});

test('lingerMs 0: every turn of the event loop sends its records, in flight or not', async () => {
  const leader = new FakeLeader();
  const producer = await producerTo(leader, { lingerMs: 0 });
  for (const value of ['a', 'b', 'c']) {
    void producer.send(null, value);
    await turns();
  }
  assert.deepEqual(leader.requests.map((r) => r.values), [['a'], ['b'], ['c']]);
  for (const request of leader.requests) request.answer();
  await producer.flush();
});
