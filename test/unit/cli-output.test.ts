// The CLI's output helpers: units, tables, the colour gate, the progress bar,
// line splitting, record formats, error → exit status; and help with
// examples on every command of the tree.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { formatBytes, formatDuration, parseByteSize, parseDuration } from '../../src/cli/output/units.js';
import { renderPairs, renderTable } from '../../src/cli/output/table.js';
import { colourEnabled, makeStyle } from '../../src/cli/output/colour.js';
import { ProgressBar, formatEta, progressLine } from '../../src/cli/output/progress.js';
import { LineSplitter } from '../../src/cli/lines.js';
import { compileTemplate, hexDump, recordPrinter, type PrintableRecord } from '../../src/cli/output/records.js';
import { CliError, ExitCode, exitCodeFor, reportError } from '../../src/cli/output/errors.js';
import { buildProgram } from '../../src/cli/program.js';
import { NoNodeError, ServerError, TopicNotFoundError, DeliveryError, PartitionNotFoundError } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/error-code.js';

test('durations and sizes are read and printed as fluvio does (humantime, bytesize)', () => {
  assert.equal(parseDuration('150ms'), 150);
  assert.equal(parseDuration('2d 10s'), 2 * 86_400_000 + 10_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('7 days'), 7 * 86_400_000);
  assert.throws(() => parseDuration('10'), /expected a duration/);
  assert.throws(() => parseDuration('3 fortnights'), /expected a duration/);
  assert.equal(formatDuration(7 * 86_400), '7days');
  assert.equal(formatDuration(86_400 + 3600 + 61), '1day 1h 1m 1s');
  assert.equal(formatDuration(0), '0s');
  assert.equal(parseByteSize('2048'), 2048);
  assert.equal(parseByteSize('2 Ki'), 2048);
  assert.equal(parseByteSize('10 MiB'), 10 * 1024 * 1024);
  assert.equal(parseByteSize('1 GB'), 1e9);
  assert.equal(parseByteSize('1.5kb'), 1500);
  assert.throws(() => parseByteSize('ten'), /expected a size/);
  assert.deepEqual([0, 1023, 1024, 1536, 10 * 1024 ** 2, 3 * 1024 ** 3].map(formatBytes), ['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10.0 MiB', '3.0 GiB']);
});

test('tables: capitals header, columns two spaces apart, right-aligned numbers, code points counted, bold header only with colour', () => {
  const rows = [
    ['événement', '3'],
    ['b', '12'],
  ];
  assert.equal(renderTable(['NAME', 'N'], rows, { right: [1] }), ' NAME        N\n événement   3\n b          12\n');
  assert.equal(renderTable(['A', 'B'], [['x', '']]), ' A  B\n x\n');
  assert.equal(renderTable(['A'], [['x']], { style: makeStyle(true) }), '\x1b[1m A\x1b[22m\n x\n');
  assert.equal(renderPairs([['Name', 'x'], ['Partition Count', '3']]), ' Name            : x\n Partition Count : 3\n');
});

test('colour only on a terminal, never with NO_COLOR (set and not empty) or TERM=dumb', () => {
  assert.equal(colourEnabled({ isTTY: true }, {}), true);
  assert.equal(colourEnabled({ isTTY: false }, {}), false);
  assert.equal(colourEnabled({}, {}), false);
  assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: '' }), true);
  assert.equal(colourEnabled({ isTTY: true }, { TERM: 'dumb' }), false);
  assert.equal(makeStyle(false).red('x'), 'x');
});

test('progress bar: bytes, percentage, rate and ETA on a terminal, throttled; nothing otherwise', () => {
  const half = progressLine(512 * 1024, 1024 * 1024, 1000, 80);
  assert.match(half, /^\[(=+)>( +)\] {2}50% 512\.0 KiB\/1\.0 MiB 512\.0 KiB\/s ETA 1s$/);
  assert.ok(half.length <= 80);
  assert.match(progressLine(0, 100, 0), /^\[> +\] {3}0% 0 B\/100 B 0 B\/s ETA --$/);
  assert.match(progressLine(100, 100, 2000), /^\[=+\] 100% 100 B\/100 B 50 B\/s ETA 0s$/);
  assert.deepEqual([formatEta(59), formatEta(61), formatEta(3661), formatEta(Infinity)], ['59s', '1m 01s', '1h 01m', '--']);

  let now = 0;
  const written: string[] = [];
  const bar = new ProgressBar(1000, { isTTY: true, columns: 100, write: (text: string) => written.push(text) }, () => now);
  now = 150;
  bar.advance(100);
  now = 200;
  bar.advance(100);
  now = 300;
  bar.advance(300);
  bar.finish();
  assert.equal(written.length, 4, 'drawn at most every 100 ms, then once more and a newline');
  assert.match(written[0], /^\r\[.*\] {2}10% 100 B\/1000 B 667 B\/s ETA 1s/);
  assert.ok(written[0].endsWith('\x1b[K'), 'clears the rest of the line');
  assert.match(written[2], /50% 500 B\/1000 B/);
  assert.equal(written[3], '\n');

  const silent: string[] = [];
  const piped = new ProgressBar(1000, { isTTY: false, write: (text: string) => silent.push(text) });
  piped.advance(500);
  piped.finish();
  assert.deepEqual([piped.enabled, silent], [false, []]);
});

test('lines: split across chunks, \\r\\n, empty lines, a last line without \\n', () => {
  const out: string[] = [];
  const splitter = new LineSplitter();
  const push = (text: string) => splitter.push(Buffer.from(text), (line) => out.push(line.toString()));
  push('a\nb');
  push('c\r\n\nd');
  push('e');
  splitter.end((line) => out.push(line.toString()));
  assert.deepEqual(out, ['a', 'bc', '', 'de']);
  const none: string[] = [];
  const empty = new LineSplitter();
  empty.push(Buffer.from('x\n'), (line) => none.push(line.toString()));
  empty.end((line) => none.push(line.toString()));
  assert.deepEqual(none, ['x']);
});

const record = (value: string | Buffer, key: string | null = null, offset = 0): PrintableRecord => ({
  partition: 1,
  offset,
  timestamp: Date.UTC(2022, 4, 4, 15, 35, 49, 244),
  key: key === null ? null : Buffer.from(key),
  value: Buffer.isBuffer(value) ? value : Buffer.from(value),
});

test('record formats: dynamic, text, binary, json, raw, table, -k, -F templates', () => {
  const warnings: string[] = [];
  const printer = (format: Parameters<typeof recordPrinter>[0]['format'], extra = {}) => recordPrinter({ format, warn: (w) => warnings.push(w), ...extra });
  assert.equal(printer('dynamic').print(record('hello')), 'hello\n');
  assert.equal(printer('dynamic', { keyValue: true }).print(record('hello', 'k')), '[k] hello\n');
  assert.equal(printer('text', { keyValue: true }).print(record('hi')), '[null] hi\n');
  assert.equal(printer('text').print(record(Buffer.from([0, 1]))), 'binary: (2 bytes)\n');
  assert.equal(printer('dynamic').print(record(Buffer.from([0, 1]))), hexDump(Buffer.from([0, 1])) + '\n');
  assert.equal(printer('json').print(record('{ "a" : [1, 2] }')), '{"a":[1,2]}\n');
  assert.equal(printer('json', { keyValue: true }).print(record('"s"', 'k')), '{"key":"k","value":"s"}\n');
  assert.equal(printer('json').print(record('nope', null, 7)), '');
  assert.match(warnings[0], /^record 1\/7 skipped: it is not JSON/);
  assert.equal(printer('json', { suppressUnknown: true }).print(record('nope')), '');
  assert.equal(warnings.length, 1);
  assert.equal(printer('raw').print(record('a\tb')), 'a\tb\n');

  const dump = hexDump(Buffer.from('0123456789abcdefXY\n'));
  assert.equal(
    dump,
    '00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n' +
      `00000010  58 59 0a${' '.repeat(15)}  ${' '.repeat(23)}  |XY.|\n${'-'.repeat(78)}`,
  );

  const live = printer('table');
  assert.equal(live.print(record('{"name":"ann","n":1,"tags":["x"]}')), ' name  n  tags\n ann   1  ["x"]\n');
  assert.equal(live.print(record('{"name":"bartholomew","n":22}')), ' bartholomew  22\n');
  const held = printer('table', { tableBufferRows: 10 });
  assert.equal(held.print(record('{"name":"ann","n":1}')), '');
  assert.equal(held.print(record('[1]')), '');
  assert.match(warnings.at(-1)!, /it is not a JSON object/);
  assert.equal(held.print(record('{"name":"bartholomew","n":22}')), '');
  assert.equal(held.end(), ' name         n\n ann          1\n bartholomew  22\n');

  const template = compileTemplate('{{time}},{{partition}},{{offset}},{{ key }},{{{value}}},{{other}}');
  assert.equal(template(record('v<&>', null, 5)), '2022-05-04T15:35:49.244Z,1,5,null,v<&>,');
  assert.equal(compileTemplate('{{time}}')({ ...record('v'), timestamp: -1 }), 'NA');
  assert.equal(printer('dynamic', { template: '[{{key}}]' }).print(record('v', 'k')), '[k]\n');
  assert.throws(() => compileTemplate('{{value'), (err: CliError) => err.exitCode === ExitCode.USAGE && /unclosed "\{\{"/.test(err.message));
  assert.throws(() => compileTemplate('{{#each x}}'), /invalid expression/);
});

test('errors map to documented exit statuses, with a hint saying what to do', () => {
  const server = (code: number, name: string) => new ServerError({ code }, name);
  assert.equal(exitCodeFor(new NoNodeError('127.0.0.1:1')), ExitCode.NO_NODE);
  assert.equal(exitCodeFor(new TopicNotFoundError('t', ['a'])), ExitCode.NOT_FOUND);
  assert.equal(exitCodeFor(new PartitionNotFoundError('t', 3, 1)), ExitCode.NOT_FOUND);
  assert.equal(exitCodeFor(server(ErrorCode.TopicAlreadyExists, 'create')), ExitCode.REFUSED);
  assert.equal(exitCodeFor(server(ErrorCode.TopicNotFound, 'produce')), ExitCode.NOT_FOUND);
  assert.equal(exitCodeFor(new DeliveryError('lost')), ExitCode.DELIVERY);
  assert.equal(exitCodeFor(new Error('boom')), ExitCode.ERROR);
  assert.equal(exitCodeFor(new CliError('bad', ExitCode.USAGE)), ExitCode.USAGE);
  const out: string[] = [];
  assert.equal(reportError(new TopicNotFoundError('t', ['a', 'b']), makeStyle(false), (text) => out.push(text)), 4);
  assert.deepEqual(out, ['error: topic "t" not found; topics that exist: a, b\n', 'hint: create it with `freshet topic create t`\n']);
});

test('help: every command of the tree has a description and examples', () => {
  const program = buildProgram();
  const visit = (command: Command, path: string[]): string[] => {
    const text: string[] = [];
    command.configureOutput({ writeOut: (chunk) => text.push(chunk), writeErr: (chunk) => text.push(chunk) });
    command.outputHelp();
    const help = text.join('');
    const name = path.join(' ');
    if (path.length > 0) assert.ok(command.description().length > 0, `${name} has a description`);
    assert.match(help, /\nExamples:\n {2}\$ .*freshet /, `${name || 'freshet'} --help shows examples`);
    return [name, ...command.commands.flatMap((sub) => visit(sub, [...path, sub.name()]))];
  };
  const names = visit(program, []);
  for (const expected of [
    'cluster start', 'cluster status', 'cluster shutdown', 'cluster delete', 'topic create', 'topic list', 'topic describe', 'topic delete',
    'partition list', 'produce', 'consume', 'consumer list', 'consumer delete', 'profile list', 'profile switch', 'profile current',
    'profile add', 'profile delete', 'version',
  ]) {
    assert.ok(names.includes(expected), `freshet ${expected} exists`);
  }
});
