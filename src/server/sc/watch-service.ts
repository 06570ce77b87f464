import type { Logger } from 'pino';
import { Writer } from '../../protocol/index.js';
import { decodeWatchRequest, encodeWatchResponse, type WatchResponse } from '../../protocol/index.js';
import { isKnownKind, type KnownKind } from '../../protocol/index.js';
import type { MetadataChange } from '../../protocol/index.js';
import type { Connection, RequestContext } from '../net/connection.js';
import type { ServerLimits } from '../limits.js';
import type { MetadataView } from './metadata-view.js';
import type { Visibility } from './visibility.js';

interface Watch {
  connection: Connection;
  correlationId: number;
  version: number;
  kind: KnownKind;
}

/**
 * Watch (1004): a full snapshot first, then a delta frame on every change,
 * all on the request's correlation id. The Fluvio client opens two sets of
 * watches per connection; every one of them gets every delta.
 */
export class WatchService {
  private readonly watches = new Set<Watch>();
  private readonly perConnection = new WeakMap<Connection, number>();
  private epoch = 1;

  constructor(
    private readonly view: MetadataView,
    private readonly limits: ServerLimits,
    private readonly log: Logger,
    private readonly visible: Visibility = () => true,
  ) {}

  handle = ({ header, body, connection }: RequestContext): void => {
    const request = decodeWatchRequest(body, header.apiVersion);
    body.expectEnd('Watch request');
    if (!isKnownKind(request.kind)) {
      // An empty update for a kind this node has no objects of.
      this.send(connection, header.correlationId, header.apiVersion, {
        kind: 'Unsupported',
        label: request.kind,
        payload: emptyUpdatePayload(this.epoch),
      });
      return;
    }
    const open = this.perConnection.get(connection) ?? 0;
    if (open >= this.limits.maxWatchesPerConnection) {
      connection.close(`more than ${this.limits.maxWatchesPerConnection} watches on one connection`);
      return;
    }
    this.perConnection.set(connection, open + 1);
    const watch: Watch = { connection, correlationId: header.correlationId, version: header.apiVersion, kind: request.kind };
    this.watches.add(watch);
    connection.closed.addEventListener('abort', () => this.watches.delete(watch), { once: true });
    this.send(connection, watch.correlationId, watch.version, {
      kind: watch.kind,
      update: { epoch: this.epoch, changes: [], all: this.view.list(watch.kind).filter((item) => this.visible(connection.principal, watch.kind, item.name)) },
    } as WatchResponse);
  };

  /** Pushes changes of one kind to every watch of that kind. */
  publish<K extends KnownKind>(kind: K, changes: MetadataChange<ReturnType<MetadataView['list']>[number]>[]): void {
    if (changes.length === 0) return;
    this.epoch++;
    for (const watch of this.watches) {
      if (watch.kind !== kind) continue;
      const seen = changes.filter((change) => this.visible(watch.connection.principal, kind, change.content.name));
      // An empty delta still moves the watcher's epoch along, as every other watcher's.
      this.send(watch.connection, watch.correlationId, watch.version, {
        kind,
        update: { epoch: this.epoch, changes: seen, all: [] },
      } as WatchResponse);
    }
    this.log.debug({ kind, changes: changes.length, epoch: this.epoch }, 'metadata change pushed');
  }

  private send(connection: Connection, correlationId: number, version: number, response: WatchResponse): void {
    const writer = new Writer();
    encodeWatchResponse(writer, response, version);
    connection.send(correlationId, writer);
  }
}

function emptyUpdatePayload(epoch: number): Buffer {
  const writer = new Writer();
  writer.i64(epoch);
  writer.i32(0);
  writer.i32(0);
  return writer.finish();
}
