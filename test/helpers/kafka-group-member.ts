// A kafkajs group member in a process of its own, so that a test can kill it
// (SIGKILL: no LeaveGroup, no last commit). Prints `join <memberId>` when it
// joins and `<partition> <offset>` for each record it has processed.
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';

const [broker, topic, groupId] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'group-member', brokers: [broker], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId, sessionTimeout: 3000, heartbeatInterval: 300, maxWaitTimeInMs: 200 });
consumer.on(consumer.events.GROUP_JOIN, (event) => process.stdout.write(`join ${event.payload.memberId}\n`));
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    // Slow on purpose: the test kills this member while it still owns unprocessed records.
    await sleep(1);
    process.stdout.write(`${partition} ${message.offset}\n`);
  },
});
