// Registers every built-in connector with the runtime. Importing this module
// is what makes `meta.type: http-source` (and the others) known. One import
// and one list entry per connector; a connector that needs a native or heavy
// dependency should import it lazily inside createSource/createSink so the
// others start fast and work where it is not installed.

import type { ConnectorType } from './connector.js';
import { registerConnector } from './registry.js';

export const BUILTIN_CONNECTORS: readonly ConnectorType<unknown>[] = [];

for (const type of BUILTIN_CONNECTORS) registerConnector(type);
