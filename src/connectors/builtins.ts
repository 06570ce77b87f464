// Registers every built-in connector with the runtime. Importing this module
// is what makes `meta.type: http-source` (and the others) known. One import
// and one list entry per connector; a connector that needs a native or heavy
// dependency should import it lazily inside createSource/createSink so the
// others start fast and work where it is not installed.

import type { ConnectorType } from './connector.js';
import { duckdbSink } from './duckdb-sink/index.js';
import { fileSink, fileSource } from './file.js';
import { httpSink } from './http-sink.js';
import { httpSource } from './http-source.js';
import { mqttSource } from './mqtt-source/index.js';
import { registerConnector } from './registry.js';
import { sqlSink } from './sql-sink/index.js';
import { webhookSource } from './webhook.js';

export const BUILTIN_CONNECTORS: readonly ConnectorType<unknown>[] = [httpSource, httpSink, webhookSource, fileSource, fileSink, mqttSource, sqlSink, duckdbSink];

for (const type of BUILTIN_CONNECTORS) registerConnector(type);
