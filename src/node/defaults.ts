// A node's defaults, in a module of their own so that the CLI can show them
// without loading the server.

import os from 'node:os';
import path from 'node:path';

export const DEFAULT_SC_PORT = 9003;
export const DEFAULT_SPU_PORT = 9005;
export const DEFAULT_SPU_ID = 5001;

export function defaultDataDir(): string {
  return process.env.FRESHET_DATA_DIR ?? path.join(os.homedir(), '.freshet', 'data');
}
