// The `freshet` command tree, after fluvio's: global -c/-P before the
// command, one file per command group under commands/.

import { Command, Option } from 'commander';
import { benchmarkCommand } from './commands/benchmark.js';
import { aclCommand } from './commands/acl.js';
import { clusterCommand } from './commands/cluster.js';
import { connectorCommand } from './commands/connector.js';
import { consumeCommand } from './commands/consume.js';
import { consumerCommand } from './commands/consumer.js';
import { consumerGroupCommand } from './commands/consumer-group.js';
import { dataflowCommand } from './commands/dataflow.js';
import { partitionCommand } from './commands/partition.js';
import { produceCommand } from './commands/produce.js';
import { profileCommand } from './commands/profile.js';
import { smartmoduleCommand } from './commands/smartmodule.js';
import { topicCommand } from './commands/topic.js';
import { userCommand } from './commands/user.js';
import { versionCommand } from './commands/version.js';
import { CLI_VERSION } from './package-root.js';
import { EXIT_CODES_HELP } from './output/errors.js';
import { examples } from './output/format.js';
import { parseEndpointArg } from './options.js';

const ROOT_HELP = `${examples(
  'freshet cluster start --daemon',
  'freshet topic create events -p 3',
  "echo '{\"user\":\"ann\"}' | freshet produce events",
  'freshet consume events -B -d -O json | jq .user',
  'freshet -c 127.0.0.1:9103 topic list',
  'freshet -c node1.example.com:9003 --tls --ca-cert ca.crt --client-cert me.crt --client-key me.key topic list',
)}

Global options (-c, -P) go before the command, as in fluvio.

Environment:
  FRESHET_ENDPOINT      HOST:PORT of the node, when -c is not given
  FRESHET_PROFILE_PATH  the profile file (default ~/.freshet/config, fluvio's TOML format)
  FRESHET_PROFILE       the profile to use instead of the current one
  FRESHET_TLS_CA, FRESHET_TLS_CERT, FRESHET_TLS_KEY, FRESHET_TLS_DOMAIN
                        TLS when -c or FRESHET_ENDPOINT is used: PEM files, the node's name
  FRESHET_TOKEN         bearer token for the node's HTTP API (connectors, dataflows, users, ACLs)
  FRESHET_DATA_DIR      default data dir of \`cluster\` commands (~/.freshet/data)
  NO_COLOR              no colour (colour is only used on a terminal anyway)

${EXIT_CODES_HELP}`;

function forEachCommand(command: Command, apply: (command: Command) => void): void {
  apply(command);
  for (const sub of command.commands) forEachCommand(sub, apply);
}

export function buildProgram(): Command {
  const program = new Command('freshet')
    .description('Freshet: a real-time streaming data platform, wire-compatible with Fluvio')
    .version(CLI_VERSION, '-V, --version')
    .addOption(new Option('-c, --cluster <host:port>', 'connect to the node (SC) at this address (default: FRESHET_ENDPOINT, the profile, 127.0.0.1:9003)').argParser(parseEndpointArg))
    .option('-P, --profile <profile>', 'use this profile of the profile file')
    .option('--tls', 'connect with TLS (with -c; a profile has its own [cluster.X.tls] section)')
    .option('--domain <name>', 'with --tls: the name the node\'s certificate must be valid for (default: the host of -c)')
    .option('--ca-cert <file>', 'with --tls: the CA that signed the node\'s certificate (PEM)')
    .option('--client-cert <file>', 'with --tls: this client\'s certificate (PEM), for nodes that require one')
    .option('--client-key <file>', 'with --tls: the key of --client-cert (PEM)')
    .option('--token <token>', "bearer token for the node's HTTP API (prefer FRESHET_TOKEN: an argument shows in ps)")
    .enablePositionalOptions()
    .addCommand(clusterCommand())
    .addCommand(topicCommand())
    .addCommand(partitionCommand())
    .addCommand(produceCommand())
    .addCommand(consumeCommand())
    .addCommand(consumerCommand())
    .addCommand(consumerGroupCommand())
    .addCommand(smartmoduleCommand())
    .addCommand(connectorCommand())
    .addCommand(dataflowCommand())
    .addCommand(userCommand())
    .addCommand(aclCommand())
    .addCommand(profileCommand())
    .addCommand(benchmarkCommand())
    .addCommand(versionCommand())
    .addHelpText('after', ROOT_HELP);
  forEachCommand(program, (command) => {
    command.exitOverride().showHelpAfterError('(add --help for usage and examples)');
    if (command !== program) command.helpCommand(false);
  });
  return program;
}
