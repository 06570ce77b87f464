// file-source and file-sink (section `file`), Freshet's own:
//
//   file-source                          file-sink
//   file:                                file:
//     path: /var/log/app.log               path: /data/out.ndjson
//     from: beginning   # or end           format: value     # or json
//     delimiter: "\n"                      delimiter: "\n"
//     poll_interval: 250ms                 fsync: true
//     max_record_bytes: 1 MiB
//
// The source tails the file record by record (a record ends at the
// delimiter; a trailing `\r` of a `\n`-delimited line is dropped). Its
// checkpoint is the byte position after the last stored record and the
// file's inode: after a restart it resumes there, with no duplicates and
// nothing skipped. A file replaced by another (log rotation: a new inode)
// is read from its start once the old one was read to its end; a file that
// shrank (truncated) is read again from the start. A record longer than
// max_record_bytes is cut into pieces of that size (and a warning logged).
//
// The sink appends one line per record (the value, or a JSON object with
// topic, partition, offset, timestamp, key and value) and, with fsync (the
// default), makes them durable before the runtime commits the offsets.

import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { z } from 'zod';
import type { ConnectorContext, ConnectorType, Sink, SinkRecord, SinkWriteResult, Source, SourceContext, SourceRecord } from './connector.js';
import { byteSize, duration, parseSection } from './schema.js';

const sourceSchema = z
  .object({
    path: z.string({ error: 'expected the path of the file to read' }).min(1),
    from: z.enum(['beginning', 'end']).default('beginning'),
    delimiter: z.string().min(1).default('\n'),
    poll_interval: duration().default(250),
    max_record_bytes: byteSize().default(1024 * 1024),
  })
  .strict();

export type FileSourceConfig = z.output<typeof sourceSchema>;

interface FileCheckpoint {
  inode: number;
  position: number;
}

const READ_CHUNK = 256 * 1024;
const MAX_BATCH = 1000;

class FileSource implements Source {
  private wake: (() => void) | undefined;

  constructor(private readonly ctx: SourceContext<FileSourceConfig>) {}

  /** Resolves on a change of the file or after poll_interval. */
  private waitForChange(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.ctx.config.poll_interval);
      const { signal } = this.ctx;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  async run(): Promise<void> {
    const { config, signal, log, checkpoints } = this.ctx;
    const delimiter = Buffer.from(config.delimiter, 'utf8');
    const trimCr = config.delimiter === '\n';
    let watcher: FSWatcher | undefined;
    const startWatch = () => {
      try {
        watcher?.close();
        watcher = watch(config.path, { persistent: false }, () => this.wake?.());
        watcher.on('error', () => {});
      } catch {
        watcher = undefined; // not there yet: polling finds it
      }
    };
    let saved = await checkpoints.load<FileCheckpoint>();
    let handle: FileHandle | undefined;
    let inode = -1;
    let position = 0;
    let pending: Buffer = Buffer.alloc(0);
    try {
      while (!signal.aborted) {
        if (!handle) {
          try {
            handle = await open(config.path, 'r');
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
            await this.waitForChange();
            continue;
          }
          const info = await handle.stat();
          inode = info.ino;
          pending = Buffer.alloc(0);
          if (saved && saved.inode === inode && saved.position <= info.size) position = saved.position;
          else if (saved && saved.inode === inode) {
            log.warn({ path: config.path, position: saved.position, size: info.size }, 'file is shorter than the checkpoint (truncated): reading from its start');
            position = 0;
          } else if (saved) position = 0; // another file (rotated): all of it is new
          else position = config.from === 'end' ? info.size : 0;
          saved = { inode, position };
          startWatch();
          log.info({ path: config.path, position }, 'reading file');
        }
        const chunk = Buffer.allocUnsafe(READ_CHUNK);
        const { bytesRead } = await handle.read(chunk, 0, READ_CHUNK, position + pending.length);
        if (bytesRead > 0) {
          pending = pending.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
          const records: SourceRecord[] = [];
          let start = 0;
          let consumed = 0;
          for (;;) {
            const at = pending.indexOf(delimiter, start);
            if (at < 0 || records.length >= MAX_BATCH) break;
            let end = at;
            if (trimCr && end > start && pending[end - 1] === 0x0d) end--;
            for (let piece = start; piece < end; piece += config.max_record_bytes) {
              records.push({ value: Buffer.from(pending.subarray(piece, Math.min(end, piece + config.max_record_bytes))) });
            }
            if (end === start) records.push({ value: Buffer.alloc(0) });
            start = at + delimiter.length;
            consumed = start;
          }
          if (consumed === 0 && pending.length > config.max_record_bytes) {
            log.warn({ path: config.path, position }, `a record longer than ${config.max_record_bytes} bytes is cut into pieces`);
            records.push({ value: Buffer.from(pending.subarray(0, config.max_record_bytes)) });
            consumed = config.max_record_bytes;
          }
          if (records.length > 0) {
            await this.ctx.emit(records.filter((r) => r.value.length > 0));
            position += consumed;
            pending = Buffer.from(pending.subarray(consumed));
            saved = { inode, position };
            await checkpoints.save(saved);
          }
          continue;
        }
        // At the end of the file: rotated or truncated?
        const current = await stat(config.path).catch(() => undefined);
        if (current && current.ino !== inode) {
          log.info({ path: config.path }, 'file was replaced (rotated): reading the new one from its start');
          await handle.close();
          handle = undefined;
          saved = { inode: current.ino, position: 0 };
          await checkpoints.save(saved);
          continue;
        }
        if (current && current.size < position + pending.length) {
          log.warn({ path: config.path }, 'file was truncated: reading it from its start');
          position = 0;
          pending = Buffer.alloc(0);
          saved = { inode, position };
          await checkpoints.save(saved);
          continue;
        }
        await this.waitForChange();
      }
    } finally {
      watcher?.close();
      await handle?.close();
    }
  }
}

const sinkSchema = z
  .object({
    path: z.string({ error: 'expected the path of the file to append to' }).min(1),
    format: z.enum(['value', 'json']).default('value'),
    delimiter: z.string().default('\n'),
    fsync: z.boolean().default(true),
  })
  .strict();

export type FileSinkConfig = z.output<typeof sinkSchema>;

class FileSink implements Sink {
  private handle: FileHandle | undefined;

  constructor(private readonly ctx: ConnectorContext<FileSinkConfig>) {}

  private line(record: SinkRecord): Buffer {
    const { format, delimiter } = this.ctx.config;
    if (format === 'value') return Buffer.concat([record.value, Buffer.from(delimiter, 'utf8')]);
    const json = {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      timestamp: record.timestamp,
      key: record.key === null ? null : record.key.toString('utf8'),
      value: record.value.toString('utf8'),
    };
    return Buffer.from(JSON.stringify(json) + delimiter, 'utf8');
  }

  async write(records: readonly SinkRecord[]): Promise<SinkWriteResult> {
    try {
      this.handle ??= await open(this.ctx.config.path, 'a');
      await this.handle.write(Buffer.concat(records.map((r) => this.line(r))));
      if (this.ctx.config.fsync) await this.handle.sync();
    } catch (err) {
      // Reopen on the next try (the file may have been moved or the disk freed).
      await this.handle?.close().catch(() => {});
      this.handle = undefined;
      throw err;
    }
    return { rejected: [] };
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

export const fileSource: ConnectorType<FileSourceConfig> = {
  type: 'file-source',
  kind: 'source',
  section: 'file',
  parse: (section) => parseSection(sourceSchema, section, 'file'),
  createSource: (ctx) => new FileSource(ctx),
};

export const fileSink: ConnectorType<FileSinkConfig> = {
  type: 'file-sink',
  kind: 'sink',
  section: 'file',
  parse: (section) => parseSection(sinkSchema, section, 'file'),
  createSink: (ctx) => new FileSink(ctx),
};
