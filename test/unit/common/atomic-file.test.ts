import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { readJsonIfExists, removeStaleTemporaries, writeFileAtomic, writeJsonAtomic } from '../../../src/common/index.js';
import { removeDir, tempDir } from '../../helpers/test-node.js';

const ATOMIC_FILE = pathToFileURL(path.resolve(import.meta.dirname, '../../../src/common/atomic-file.ts')).href;

/** Runs writeJsonAtomic in a child whose rename kills it: a crash after the temporary file is written and fsynced, before the rename. */
function crashBeforeRename(file: string, value: unknown): Promise<{ pid: number; signal: NodeJS.Signals | null }> {
  const script = `
    import fsp from 'node:fs/promises';
    import { syncBuiltinESMExports } from 'node:module';
    fsp.rename = async () => { process.kill(process.pid, 'SIGKILL'); await new Promise(() => {}); };
    syncBuiltinESMExports();
    const { writeJsonAtomic } = await import(${JSON.stringify(ATOMIC_FILE)});
    await writeJsonAtomic(${JSON.stringify(file)}, ${JSON.stringify(value)});
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ pid: child.pid!, signal }));
  });
}

describe('atomic files', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('freshet-atomic-');
  });
  after(async () => {
    await removeDir(dir);
  });

  it('writes JSON that reads back; a missing file reads as undefined, a broken one throws', async () => {
    const file = path.join(dir, 'nested', 'a.json');
    await writeJsonAtomic(file, { a: 1, b: ['x'] });
    assert.deepEqual(await readJsonIfExists(file), { a: 1, b: ['x'] });
    assert.equal(await readFile(file, 'utf8'), '{\n  "a": 1,\n  "b": [\n    "x"\n  ]\n}\n');
    assert.equal(await readJsonIfExists(path.join(dir, 'none.json')), undefined);
    await writeFile(path.join(dir, 'broken.json'), '{"a":');
    await assert.rejects(readJsonIfExists(path.join(dir, 'broken.json')), /cannot read .*broken\.json/);
    assert.deepEqual(await readdir(path.dirname(file)), ['a.json'], 'no temporary file is left');
  });

  it('concurrent writes to one file never leave a torn file: every read sees one whole write', async () => {
    const file = path.join(dir, 'contended.json');
    await writeJsonAtomic(file, { writer: -1, fill: '' });
    const writers = 24;
    const fill = (i: number) => String.fromCharCode(97 + (i % 26)).repeat(200_000 + i * 1000);
    let writing = true;
    const reads: number[] = [];
    const reader = (async () => {
      while (writing) {
        const seen = (await readJsonIfExists<{ writer: number; fill: string }>(file))!;
        assert.equal(seen.fill, seen.writer < 0 ? '' : fill(seen.writer), 'a read is one write, whole');
        reads.push(seen.writer);
      }
    })();
    await Promise.all(Array.from({ length: writers }, (_, i) => writeJsonAtomic(file, { writer: i, fill: fill(i) })));
    writing = false;
    await reader;
    const last = (await readJsonIfExists<{ writer: number; fill: string }>(file))!;
    assert.ok(last.writer >= 0 && last.writer < writers);
    assert.equal(last.fill, fill(last.writer));
    assert.ok(reads.length > 0);
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('contended')), ['contended.json'], 'every temporary file was renamed');
  });

  it('a crash between the write and the rename leaves the old content; the dead writer\'s temporary file is removed later', async () => {
    const sub = path.join(dir, 'crash');
    const file = path.join(sub, 'state.json');
    await writeJsonAtomic(file, { version: 'old' });
    const { pid, signal } = await crashBeforeRename(file, { version: 'new' });
    assert.equal(signal, 'SIGKILL', 'the writer was killed');
    assert.deepEqual(await readJsonIfExists(file), { version: 'old' });
    const leftover = `state.json.tmp-${pid}-1`;
    assert.deepEqual((await readdir(sub)).sort(), ['state.json', leftover]);
    assert.deepEqual(JSON.parse(await readFile(path.join(sub, leftover), 'utf8')), { version: 'new' }, 'the temporary file was written whole before the crash');

    const ours = `state.json.tmp-${process.pid}-99`;
    await writeFile(path.join(sub, ours), 'in progress');
    assert.equal(await removeStaleTemporaries(sub, (target) => target === 'other.json'), 0, 'only the targets asked for');
    assert.equal(await removeStaleTemporaries(sub), 1);
    assert.deepEqual((await readdir(sub)).sort(), ['state.json', ours], 'a live writer\'s temporary file stays');
  });

  it('a write that fails removes its temporary file and leaves the target as it was', async () => {
    const target = path.join(dir, 'occupied');
    await mkdir(path.join(target, 'inside'), { recursive: true });
    await assert.rejects(writeFileAtomic(target, 'text'));
    assert.deepEqual(await readdir(target), ['inside']);
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('occupied')), ['occupied']);
  });
});
