// Preloaded (`node --import`) by CLI tests that need the CLI to believe that
// stdout and/or stderr are terminals (FRESHET_FAKE_TTY=stdout,stderr), to
// check colour and the progress bar without a pseudo-terminal.

import process from 'node:process';

for (const name of (process.env.FRESHET_FAKE_TTY ?? '').split(',')) {
  if (name !== 'stdout' && name !== 'stderr') continue;
  Object.defineProperty(process[name], 'isTTY', { value: true });
  Object.defineProperty(process[name], 'columns', { value: 100 });
}
