// `freshet acl add|list|remove`, with Kafka's flags: who (--principal
// User:x | Group:y | User:*), what (--resource and --name, or a name prefix
// with --prefix), which operations, allow or --deny. The rules are the
// node's managed ones (<dataDir>/metadata/acls.json); those of the policy
// file are listed but not changed here. Against a running node they take
// effect at once.

import { Command, InvalidArgumentError, Option } from 'commander';
import { aclRuleSchema, OPERATIONS, RESOURCE_TYPES, type AclRule } from '../../auth/acl.js';
import { securityAdmin, securityTargetOptions, type SecurityFlags } from '../security-admin.js';
import { usageError } from '../output/errors.js';
import { examples, listFormatOption, printLine, printList, type ListFormat } from '../output/format.js';

const OPERATION_NAMES: readonly string[] = [...OPERATIONS, 'all'];

function parseOperations(text: string, previous: string[]): string[] {
  const operations = text.split(',').map((op) => op.trim().toLowerCase()).filter(Boolean);
  for (const op of operations) {
    if (!OPERATION_NAMES.includes(op)) throw new InvalidArgumentError(`unknown operation "${op}": expected ${OPERATION_NAMES.join(', ')}`);
  }
  return [...previous, ...operations];
}

interface RuleFlags extends SecurityFlags {
  principal: string;
  resource: string;
  name?: string;
  prefix?: boolean;
  operation: string[];
  deny?: boolean;
}

function ruleOptions(command: Command): Command {
  return securityTargetOptions(
    command
      .requiredOption('--principal <principal>', 'User:<name>, Group:<name>, or User:* (every authenticated user)')
      .addOption(new Option('--resource <type>', 'what the rule is about').choices([...RESOURCE_TYPES]).makeOptionMandatory())
      .option('--name <name>', 'the resource\'s name, or * for every one (a cluster rule needs none)')
      .option('--prefix', '--name is a prefix: the rule covers every name that starts with it')
      .addOption(new Option('--operation <ops>', `comma-separated: ${OPERATION_NAMES.join(', ')} (repeatable)`).argParser(parseOperations).default([]))
      .option('--deny', 'a deny rule (deny wins over allow)'),
  );
}

function ruleFrom(flags: RuleFlags): AclRule {
  if (flags.operation.length === 0) throw usageError('give at least one --operation', `one of ${OPERATION_NAMES.join(', ')}`);
  const name = flags.name ?? (flags.resource === 'cluster' ? 'freshet' : undefined);
  if (name === undefined) throw usageError(`--name is needed for a ${flags.resource} rule`, 'use --name "*" for every one');
  const parsed = aclRuleSchema.safeParse({
    principal: flags.principal,
    resource: flags.resource,
    name,
    pattern: flags.prefix ? 'prefix' : 'literal',
    operations: [...new Set(flags.operation)],
    effect: flags.deny ? 'deny' : 'allow',
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw usageError(`invalid rule: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  return parsed.data;
}

export function aclCommand(): Command {
  const acl = new Command('acl')
    .description('who may do what: ACL rules on topics, consumer groups, SmartModules, connectors, dataflows and the cluster')
    .addHelpText(
      'after',
      examples(
        'freshet acl add --principal User:alice --resource topic --name orders --operation read,write',
        'freshet acl add --principal Group:analysts --resource topic --name metrics- --prefix --operation read',
        'freshet acl add --principal User:admin --resource cluster --operation all',
        'freshet acl add --principal User:bob --resource topic --name secret --operation all --deny',
        'freshet acl list',
        'freshet acl remove --principal User:alice --resource topic --name orders --operation read,write',
      ) + '\n\nNo rule: no access (when the node runs with --auth). Read, write, delete and alter imply describe. See docs/security.md.',
    );

  ruleOptions(acl.command('add').description('add an allow (or --deny) rule'))
    .addHelpText('after', examples('freshet acl add --principal User:alice --resource topic --name orders --operation read,write', 'freshet acl add --principal Group:ops --resource connector --name "*" --operation all'))
    .action(async (flags: RuleFlags) => {
    const rule = ruleFrom(flags);
    const admin = await securityAdmin(flags);
    await admin.addAcl(rule);
    await printLine(`rule added (${admin.where}): ${formatted(rule)}`);
  });

  ruleOptions(acl.command('remove').description('remove a rule (give the same flags as when it was added)'))
    .addHelpText('after', examples('freshet acl remove --principal User:alice --resource topic --name orders --operation read,write'))
    .action(async (flags: RuleFlags) => {
    const rule = ruleFrom(flags);
    const admin = await securityAdmin(flags);
    await admin.removeAcl(rule);
    await printLine(`rule removed (${admin.where}): ${formatted(rule)}`);
  });

  securityTargetOptions(acl.command('list').description('list the rules in force: the policy file\'s, then the managed ones').addOption(listFormatOption()))
    .addHelpText('after', examples('freshet acl list', 'freshet acl list -O json'))
    .action(
    async (flags: SecurityFlags & { output: ListFormat }) => {
      const rules = await (await securityAdmin(flags)).listAcls();
      await printList(rules, flags.output, {
        header: ['PRINCIPAL', 'RESOURCE', 'NAME', 'OPERATIONS', 'EFFECT', 'SOURCE'],
        row: ({ rule, source }) => [rule.principal, rule.resource, `${rule.name}${rule.pattern === 'prefix' ? '*' : ''}`, rule.operations.join(','), rule.effect, source],
        empty: 'No ACL rules',
      });
    },
  );
  return acl;
}

function formatted(rule: AclRule): string {
  return `${rule.effect} ${rule.principal} ${rule.operations.join(',')} on ${rule.resource} ${rule.name}${rule.pattern === 'prefix' ? ' (prefix)' : ''}`;
}
