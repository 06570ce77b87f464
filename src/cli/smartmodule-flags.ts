import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { SmartModuleSpec } from '../client/index.js';
import { usageError } from './output/errors.js';
import { collect } from './output/units.js';
import { parseParam } from './options.js';

/** `--smartmodule NAME | --smartmodule-path FILE`, `-e k=v`, `--aggregate-initial`: shared by consume and produce, as in fluvio. */
export interface SmartModuleFlags {
  smartmodule?: string;
  smartmodulePath?: string;
  params?: [string, string][];
  aggregateInitial?: string;
}

/** Adds the SmartModule options; `where` says where the module runs ("on the stream", "on each batch before it is stored"). */
export function addSmartModuleOptions(command: Command, where: string): Command {
  return command
    .addOption(new Option('--smartmodule <name>', `run this SmartModule (registered or built-in) ${where}, on the node`).conflicts('smartmodulePath'))
    .option('--smartmodule-path <file>', `run this local .wasm SmartModule ${where} (sent to the node)`)
    .addOption(new Option('-e, --params <key=value>', 'SmartModule parameter (repeatable)').argParser(collect(parseParam)))
    .option('--aggregate-initial <value>', 'initial accumulator of an aggregate SmartModule');
}

export async function smartModuleSpecs(flags: SmartModuleFlags): Promise<SmartModuleSpec[]> {
  if (flags.smartmodule === undefined && flags.smartmodulePath === undefined) {
    if (flags.params || flags.aggregateInitial !== undefined) throw usageError('--params and --aggregate-initial need --smartmodule or --smartmodule-path');
    return [];
  }
  const spec: SmartModuleSpec = flags.smartmodule !== undefined ? { name: flags.smartmodule } : { wasm: await readFile(flags.smartmodulePath!) };
  if (flags.params) spec.params = Object.fromEntries(flags.params);
  if (flags.aggregateInitial !== undefined) spec.accumulator = flags.aggregateInitial;
  return [spec];
}
