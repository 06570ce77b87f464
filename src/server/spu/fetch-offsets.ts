import { Writer } from '../../protocol/index.js';
import { ErrorCode } from '../../protocol/index.js';
import { decodeFetchOffsetsRequest, encodeFetchOffsetsResponse } from '../../protocol/index.js';
import type { Authorizer } from '../../auth/index.js';
import type { RequestContext } from '../net/connection.js';
import type { ReplicaManager } from './replica-manager.js';

/** FetchOffsets (1002): the start offset and the LEO (= HW with one replica) per partition. */
export function fetchOffsetsHandler(replicas: ReplicaManager, authorizer?: Authorizer) {
  return ({ header, body, connection }: RequestContext): void => {
    const request = decodeFetchOffsetsRequest(body, header.apiVersion);
    body.expectEnd('FetchOffsets request');
    const topics = request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map(({ partitionIndex }) => {
        if (authorizer && !authorizer.permits(connection.principal, 'describe', 'topic', topic.name)) {
          return { errorCode: { code: ErrorCode.PermissionDenied }, partitionIndex, startOffset: -1, lastStableOffset: -1 };
        }
        const store = replicas.get(topic.name, partitionIndex);
        if (!store) {
          const code = replicas.hasTopic(topic.name) ? ErrorCode.NotLeaderForPartition : ErrorCode.TopicNotFound;
          return { errorCode: { code }, partitionIndex, startOffset: -1, lastStableOffset: -1 };
        }
        return {
          errorCode: { code: ErrorCode.None },
          partitionIndex,
          startOffset: store.logStartOffset(),
          lastStableOffset: store.highWatermark(),
        };
      }),
    }));
    const writer = new Writer();
    encodeFetchOffsetsResponse(writer, { topics }, header.apiVersion);
    connection.send(header.correlationId, writer);
  };
}
