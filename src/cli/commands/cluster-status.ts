// `cluster status`: does a node answer at the endpoint (SC, SPUs, topics),
// and does one hold the local data dir?

import { Command, type Option } from 'commander';
import type { Freshet, SpuInfo } from '../../client/index.js';
import { connect, globalOptions } from '../context.js';
import { styleFor } from '../output/colour.js';
import { CliError, ExitCode, exitCodeFor } from '../output/errors.js';
import { examples, jsonLine, listFormatOption, type ListFormat } from '../output/format.js';
import { formatBytes } from '../output/units.js';
import { stdoutWriter } from '../output/writer.js';
import { runningNodePid } from '../local-node.js';

interface NodeReport {
  platformVersion: string;
  spus: SpuInfo[];
  topics: number;
  bytes: number;
}

async function inspect(freshet: Freshet): Promise<NodeReport> {
  const [spus, topics, partitions] = await Promise.all([freshet.admin.listSpus(), freshet.admin.listTopics(), freshet.admin.listPartitions()]);
  const bytes = partitions.reduce((sum, p) => sum + Math.max(0, p.sizeBytes), 0);
  return { platformVersion: freshet.platformVersion, spus, topics: topics.length, bytes };
}

async function resolvedEndpoint(command: Command): Promise<string> {
  const { resolveEndpoint } = await import('../../client/profile.js');
  const { cluster, profile } = globalOptions(command);
  return resolveEndpoint({ endpoint: cluster, profile }).endpoint;
}

export function clusterStatusCommand(dataDirOption: Option): Command {
  return new Command('status')
    .description('is a node answering at the endpoint (-c, FRESHET_ENDPOINT or the profile), and is one running on the data dir?')
    .addOption(dataDirOption)
    .addOption(listFormatOption())
    .addHelpText('after', examples('freshet cluster status', 'freshet -c 127.0.0.1:9103 cluster status -O json'))
    .action(async (flags: { dataDir: string; output: ListFormat }, command: Command) => {
      const endpoint = await resolvedEndpoint(command);
      const pid = await runningNodePid(flags.dataDir);
      let report: NodeReport | undefined;
      let failure: unknown;
      try {
        const freshet = await connect(command, { connectTimeoutMs: 3000 });
        try {
          report = await inspect(freshet);
        } finally {
          await freshet.close();
        }
      } catch (err) {
        if (exitCodeFor(err) !== ExitCode.NO_NODE) throw err;
        failure = err;
      }
      const out = stdoutWriter();
      if (flags.output === 'json') {
        await out.write(jsonLine({ endpoint, reachable: report !== undefined, ...report, dataDir: flags.dataDir, pid: pid ?? null }));
      } else {
        const style = styleFor(process.stdout);
        const ok = (text: string) => ` ${style.green('✓')} ${text}\n`;
        const warn = (text: string) => ` ${style.yellow('!')} ${text}\n`;
        const bad = (text: string) => ` ${style.red('✗')} ${text}\n`;
        let text = '';
        if (report) {
          const online = report.spus.filter((spu) => spu.status === 'online');
          const spus = report.spus.map((spu) => `${spu.id} at ${spu.host}:${spu.port}`).join(', ');
          text += ok(`SC is ok at ${endpoint} (platform ${report.platformVersion})`);
          text += (online.length === report.spus.length && online.length > 0 ? ok : bad)(`(${online.length}/${report.spus.length}) SPUs are online: ${spus}`);
          text += report.topics > 0 ? ok(`${report.topics} topic(s) using ${formatBytes(report.bytes)}`) : warn('No topics present');
        } else {
          text += bad(`Unable to reach a node at ${endpoint}`);
        }
        text += pid !== undefined ? ok(`a node (pid ${pid}) is running on data dir ${flags.dataDir}`) : warn(`no node is running on data dir ${flags.dataDir}`);
        await out.write(text);
      }
      await out.flush();
      if (failure) throw new CliError((failure as Error).message, ExitCode.NO_NODE);
    });
}
