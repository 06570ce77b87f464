import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { styleFor } from './output/colour.js';
import { ExitCode, reportError } from './output/errors.js';
import { stdoutWriter } from './output/writer.js';

const GLOBAL_FLAG = /unknown option '(-c|--cluster|-P|--profile)\b/;

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length <= 2) {
    program.outputHelp();
    return ExitCode.OK;
  }
  try {
    await program.parseAsync(argv);
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already said what was wrong (help and version end here too).
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.OK;
      if (GLOBAL_FLAG.test(err.message)) process.stderr.write('hint: global options go before the command: freshet -c HOST:PORT topic list\n');
      return ExitCode.USAGE;
    }
    return reportError(err, styleFor(process.stderr));
  }
}

const code = await main(process.argv);
await stdoutWriter().flush();
process.exit(code);
