// An SPU composed from its real parts (replicas on disk, routers, one TCP
// listener on 127.0.0.1) with the injection points a node does not expose:
// storage hooks, a SmartModule lookup the test controls, limits. For tests that need to hold an operation in the middle.

import path from 'node:path';
import pino from 'pino';
import { DEFAULT_LIMITS, type ServerLimits } from '../../src/server/limits.js';
import { TcpListener } from '../../src/server/net/tcp-listener.js';
import { ReplicaManager } from '../../src/server/spu/replica-manager.js';
import { spuRouter } from '../../src/server/spu/router.js';
import { SmartModuleService, type SmartModuleLookup } from '../../src/server/spu/smartmodules.js';
import { StreamFetchService } from '../../src/server/spu/stream-fetch.js';
import type { TopicDefinition } from '../../src/server/sc/topic-registry.js';
import { SmartEngine } from '../../src/smartengine/index.js';
import { builtinSmartModule } from '../../src/smartengine/builtins.js';
import type { StorageHooks } from '../../src/storage/index.js';
import { removeDir, tempDir, topicDefinition } from './test-node.js';

export interface TestSpuOptions {
  limits?: Partial<ServerLimits>;
  storageHooks?: StorageHooks;
  /** Default: the built-in SmartModules. */
  lookup?: SmartModuleLookup;
}

export interface TestSpu {
  readonly port: number;
  readonly replicas: ReplicaManager;
  readonly listener: TcpListener;
  createTopic(name: string, partitions?: number): Promise<TopicDefinition>;
  deleteTopic(topic: TopicDefinition): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestSpu(options: TestSpuOptions = {}): Promise<TestSpu> {
  const dir = await tempDir('freshet-spu-');
  const log = pino({ level: process.env.FRESHET_TEST_LOG ?? 'error' });
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const replicas = new ReplicaManager(path.join(dir, 'data'), {}, log, options.storageHooks);
  const engine = new SmartEngine({ wasiOutput: 'discard' });
  const smartmodules = new SmartModuleService(engine, options.lookup ?? builtinSmartModule, log);
  const streams = new StreamFetchService(replicas, limits, log, smartmodules);
  const listener = new TcpListener('spu', spuRouter({ replicas, limits, log, streams, smartmodules }), limits, log);
  const port = await listener.listen('127.0.0.1', 0);
  return {
    port,
    replicas,
    listener,
    async createTopic(name, partitions = 1) {
      const topic = topicDefinition(name, partitions);
      await replicas.createPartitions(topic);
      return topic;
    },
    deleteTopic: (topic) => replicas.deletePartitions(topic),
    async stop() {
      await listener.close();
      engine.close();
      await replicas.closeAll();
      await removeDir(dir);
    },
  };
}

/** A promise with its resolve function, for holding an operation until the test lets it go. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
