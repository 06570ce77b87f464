// Stateful dataflows: windows, keyed aggregates, series and correlations over
// topics, exactly once across restarts (docs/dataflows.md).
//
//   import { dataflow, tumbling, count, mean, runDataflow } from 'freshet/dataflow';
//   const spec = dataflow('price-stats').source('prices').assignTimestamp('$.ts').assignKey('$.product')
//     .window(tumbling('1m'), { grace: '10s' }).aggregate({ n: count(), avg: mean('$.price') }).sink('stats').build();
//   const running = await runDataflow(spec, { endpoint: '127.0.0.1:9003', stateDir: './state/price-stats' });
//   running.query({ key: 'p-42' });

export { dataflow, tumbling, sliding, count, sum, min, max, mean, last, distinct, smartmodule, validateSpec, DataflowSpecError } from './builder.js';
export type { DataflowBuilder, ServiceBuilder, Fn, WindowOptions, SeriesOptions, AggregateDef, WindowShape } from './builder.js';
export { parseDataflowYaml, DataflowYamlError } from './yaml.js';
export { ServiceEngine, NO_KEY } from './engine.js';
export type { InputRecord, Output, OutputKind, WindowResult, CorrelationResult, LateRecord, SeriesFields, ServiceMetrics, Query } from './engine.js';
export { DataflowRuntime, runDataflow, type RunOptions, type OutputEvent, type ServiceStatus } from './runner.js';
export { registerDataflowRoutes, startDataflowHttp, StaticHost, type DataflowHost } from './http.js';
export { CheckpointStore, type Checkpoint } from './checkpoint.js';
export { compileExpression, ExpressionError } from './expr.js';
export { parseDuration } from './duration.js';
export type * from './spec.js';
