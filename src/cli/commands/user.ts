// `freshet user add|list|delete|token|token revoke`: the node's users, their
// SCRAM credentials (for SASL on the Kafka listener; stored salted and
// hashed) and bearer tokens (for the HTTP APIs; a token is shown once, when
// issued). Against a running node through its HTTP API, or with --data-dir
// on a stopped node's files (src/cli/security-admin.ts).
//
// A password never travels as an argument (it would show in `ps` and in the
// shell history): it is read from stdin with --password-stdin, or asked on
// the terminal without echo. There is no --password flag.

import { Command, Option } from 'commander';
import { securityAdmin, securityTargetOptions, type SecurityFlags } from '../security-admin.js';
import { usageError } from '../output/errors.js';
import { examples, listFormatOption, note, printLine, printList, type ListFormat } from '../output/format.js';

const MAX_PASSWORD_BYTES = 1024;

async function passwordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_PASSWORD_BYTES) throw usageError(`a password of more than ${MAX_PASSWORD_BYTES} bytes on stdin`);
    chunks.push(chunk as Buffer);
  }
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]!;
  if (password === '') throw usageError('--password-stdin: stdin is empty');
  return password;
}

/** Asks on the terminal, echoing nothing (raw mode: each key is read as typed). */
function ask(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let answer = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: string) => {
      for (const key of chunk) {
        if (key === '\r' || key === '\n') return finish();
        if (key === '\u0003' || key === '\u0004') return finish(usageError('cancelled'));
        if (key === '\u007f' || key === '\b') answer = answer.slice(0, -1);
        else if (Buffer.byteLength(answer) < MAX_PASSWORD_BYTES) answer += key;
      }
    };
    // Raw mode before the prompt: what is typed once the prompt shows is never echoed.
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.on('data', onData);
    stdin.resume();
  });
}

async function passwordFromTerminal(name: string): Promise<string> {
  const first = await ask(`Password for ${name}: `);
  const again = await ask('Again: ');
  if (first !== again) throw usageError('the passwords differ');
  return first;
}

type AddFlags = SecurityFlags & { passwordStdin?: boolean; password: boolean; group: string[]; replace?: boolean };

async function password(name: string, flags: AddFlags): Promise<string | undefined> {
  if (flags.passwordStdin) return passwordFromStdin();
  if (!flags.password || !process.stdin.isTTY) return undefined;
  return passwordFromTerminal(name);
}

export function userCommand(): Command {
  const user = new Command('user')
    .description('users of the node: passwords (SASL) and bearer tokens (HTTP APIs)')
    .addHelpText(
      'after',
      examples(
        'freshet user add admin --data-dir /var/lib/freshet --no-password   # the first one, node stopped',
        'freshet user token admin --data-dir /var/lib/freshet',
        'echo "$PASSWORD" | freshet user add alice --password-stdin --group readers',
        'FRESHET_TOKEN=fst_... freshet -c node1:9003 --tls --ca-cert ca.crt user list',
        'freshet user token revoke alice 3f2a9c1d0e4b',
        'freshet user delete alice',
      ) + '\n\nPasswords are never taken as arguments: --password-stdin, or a prompt on the terminal.',
    );

  securityTargetOptions(
    user
      .command('add')
      .description('add a user (or with --replace set its password and groups)')
      .argument('<name>', 'user name (as in User:<name> of the ACLs; a client certificate with this CN is this user)')
      .option('--password-stdin', 'read the password from the first line of stdin')
      .option('--no-password', 'no password (a user with tokens or a client certificate only); default on a non-terminal stdin')
      .addOption(new Option('--group <group>', 'a group it belongs to, as in Group:<group> of the ACLs (repeatable)').argParser((value: string, previous: string[]) => [...previous, value]).default([]))
      .option('--replace', 'the user exists: set its password (when given) and groups'),
  )
    .addHelpText('after', examples('freshet user add admin --data-dir /var/lib/freshet --no-password', 'echo "$PASSWORD" | freshet user add alice --password-stdin --group readers', 'freshet user add alice --replace --group readers --group ops'))
    .action(async (name: string, flags: AddFlags) => {
    const admin = await securityAdmin(flags);
    const secret = await password(name, flags);
    const added = await admin.addUser(name, { ...(secret !== undefined ? { password: secret } : {}), ...(flags.group.length > 0 ? { groups: flags.group } : {}), ...(flags.replace ? { replace: true } : {}) });
    await printLine(`user "${added.name}" ${flags.replace ? 'updated' : 'added'} (${where(admin.where)})${added.mechanisms.length === 0 ? '; no password' : ''}`);
  });

  securityTargetOptions(user.command('list').description('list users: groups, password mechanisms, token ids (never a secret)').addOption(listFormatOption()))
    .addHelpText('after', examples('freshet user list', 'freshet user list -O json | jq -r .name', 'freshet user list --data-dir /var/lib/freshet'))
    .action(
    async (flags: SecurityFlags & { output: ListFormat }) => {
      const users = await (await securityAdmin(flags)).listUsers();
      await printList(users, flags.output, {
        header: ['NAME', 'GROUPS', 'PASSWORD', 'TOKENS', 'CREATED'],
        row: (u) => [u.name, u.groups.join(',') || '-', u.mechanisms.length > 0 ? u.mechanisms.join(',') : '-', u.tokens.map((t) => t.id).join(',') || '-', u.createdAt],
        empty: 'No users',
      });
    },
  );

  securityTargetOptions(user.command('delete').description('delete users (their tokens stop working at once)').argument('<name...>', 'user names'))
    .addHelpText('after', examples('freshet user delete alice', 'freshet user delete alice bob'))
    .action(
    async (names: string[], flags: SecurityFlags) => {
      const admin = await securityAdmin(flags);
      for (const name of names) {
        await admin.deleteUser(name);
        await printLine(`user "${name}" deleted`);
      }
    },
  );

  const token = securityTargetOptions(
    user
      .command('token')
      .description('issue a bearer token for a user: printed once, on stdout; only its hash is kept')
      .argument('<name>', 'user name'),
  )
    .addHelpText('after', examples('freshet user token alice', 'FRESHET_TOKEN=$(freshet user token admin --data-dir /var/lib/freshet) freshet -c node1:9003 user list'))
    .action(async (name: string, flags: SecurityFlags) => {
    const issued = await (await securityAdmin(flags)).issueToken(name);
    note(`token ${issued.id} issued for "${name}"; it is shown only now (send it as "Authorization: Bearer <token>", or FRESHET_TOKEN)`);
    await printLine(issued.token);
  });

  securityTargetOptions(token.command('revoke').description('revoke one of a user\'s tokens').argument('<name>', 'user name').argument('<id>', 'token id (freshet user list)'))
    .addHelpText('after', examples('freshet user token revoke alice 3f2a9c1d0e4b'))
    .action(
    async (name: string, id: string, flags: SecurityFlags) => {
      await (await securityAdmin(flags)).revokeToken(name, id);
      await printLine(`token ${id} of "${name}" revoked`);
    },
  );
  return user;
}

function where(text: string): string {
  return text.startsWith('data dir') ? `in ${text}` : `on ${text}`;
}
