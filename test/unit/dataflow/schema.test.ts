import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceEngine } from '../../../src/dataflow/engine.js';
import { SchemaCompiler } from '../../../src/dataflow/schema.js';
import { parseDataflowYaml } from '../../../src/dataflow/yaml.js';

const TYPES = {
  'price-event': {
    type: 'object',
    properties: {
      ts: { type: 'i64' },
      product: { type: 'string' },
      'list-price': { type: 'f64', optional: true },
      rank: { type: 'u8' },
      tags: { type: 'list', items: { type: 'string' } },
      status: { type: 'enum', oneOf: { Active: { type: null }, Paused: { type: 'reason' } } },
    },
  },
  reason: { type: 'object', properties: { why: { type: 'string' } } },
};

describe('dataflow schemas', () => {
  const check = new SchemaCompiler(TYPES, '0.5.0').compile({ type: 'price-event' }, 'topics.t.schema.value');
  const good = { ts: 1, product: 'p', rank: 3, tags: ['a'], status: 'Active', extra: true };

  it('accepts matching values (unknown fields allowed, optional may be absent, enum unit and data variants)', () => {
    assert.equal(check(good, '$'), undefined);
    assert.equal(check({ ...good, list_price: 9.5, status: { Paused: { why: 'stock' } } }, '$'), undefined);
  });

  it('names the first mismatch by its JSON path', () => {
    assert.equal(check({ ...good, ts: 1.5 }, '$'), '$.ts: expected i64, got number 1.5');
    assert.equal(check({ ...good, rank: 300 }, '$'), '$.rank: expected u8, got number 300');
    assert.equal(check({ ...good, product: undefined }, '$'), '$.product: missing');
    assert.equal(check({ ...good, tags: ['a', 2] }, '$'), '$.tags[1]: expected string, got number 2');
    assert.equal(check({ ...good, status: 'Gone' }, '$'), '$.status: expected one of Active, Paused, got string "Gone"');
    assert.equal(check({ ...good, status: { Paused: {} } }, '$'), '$.status.Paused.why: missing');
    assert.equal(check({ ...good, list_price: 'x' }, '$'), '$.list_price: expected f64, got string "x"');
    assert.equal(check([], '$'), '$: expected an object, got a list');
  });

  it('apiVersion 0.5.0 reads properties as snake_case, 0.6.0 as written', () => {
    const v6 = new SchemaCompiler(TYPES, '0.6.0').compile({ type: 'price-event' }, 'x');
    assert.equal(v6({ ...good, 'list-price': 'x' }, '$'), '$.list-price: expected f64, got string "x"');
    assert.equal(check({ ...good, 'list-price': 'x' }, '$'), undefined); // 0.5.0 looks at list_price
  });

  it('a record that does not match its topic type is skipped and counted as failed, with the reason', async () => {
    const spec = await parseDataflowYaml(`
apiVersion: 0.5.0
meta: { name: typed }
types:
  click: { type: object, properties: { page: { type: string }, ts: { type: i64 } } }
topics:
  clicks: { schema: { value: { type: click } } }
services:
  s:
    sources: [{ id: clicks }]
    window:
      tumbling: { duration: 10s }
      assign-timestamp: $.ts
      partition: { assign-key: $.page }
`);
    const engine = new ServiceEngine('typed', spec.services[0]);
    engine.registerInput('clicks', 0);
    engine.process({ topic: 'clicks', partition: 0, offset: 0, timestamp: 0, key: null, value: '{"page":"home","ts":1}' });
    engine.process({ topic: 'clicks', partition: 0, offset: 1, timestamp: 0, key: null, value: '{"page":7,"ts":2}' });
    assert.equal(engine.metrics.failed, 1);
    assert.equal(engine.metrics.lastError!.message, 'value does not match type click: $.page: expected string, got number 7');
    assert.equal(engine.metrics.lastError!.offset, 1);
  });

  it('an unknown type is a YAML error at its path', async () => {
    await assert.rejects(
      parseDataflowYaml('apiVersion: 0.5.0\nmeta: { name: x }\ntopics:\n  t: { schema: { value: { type: nope } } }\nservices: {}'),
      /^Error: topics\.t\.schema\.value\.type: unknown type "nope"|topics\.t\.schema\.value\.type: unknown type "nope"/,
    );
    await assert.rejects(
      parseDataflowYaml('apiVersion: 0.5.0\nmeta: { name: x }\ntypes:\n  a: { type: object, properties: { b: { type: flot } } }\ntopics:\n  t: { schema: { value: { type: a } } }\nservices: {}'),
      /types\.a\.properties\.b\.type: unknown type "flot"/,
    );
  });
});
