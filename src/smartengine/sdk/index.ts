// Authoring SmartModules with the AssemblyScript SDK (sdk/smartmodule):
// what `freshet sm generate|build|test` call.
//
//   await generateProject({ name: 'my-filter', kind: 'filter' });
//   const { outFile, wasm } = await buildProject({ path: 'my-filter' });
//   const { records, error } = await runLocal([{ wasm, name: 'my-filter', params: { term: 'a' } }], [{ key: null, value: Buffer.from('apple') }]);

export { AscCompileError, ascVersion, compileEntry, sdkSourcesHash, SDK_DIR, SDK_PACKAGE, stopCompiler, type AscBuildOptions, type AscCompileResult } from './asc.js';
export { entrySource, exportedNames, sourceExports, type SourceExports } from './entry.js';
export {
  buildProject,
  generateProject,
  parseSdkKind,
  SDK_KINDS,
  validateProjectName,
  type BuildProjectOptions,
  type BuildProjectResult,
  type GenerateOptions,
  type GenerateResult,
  type SdkKind,
} from './project.js';
export {
  exportedKinds,
  moduleKind,
  parseTransformStep,
  runLocal,
  stepModule,
  type LocalInputRecord,
  type LocalModule,
  type LocalRunOptions,
  type LocalRunResult,
  type TransformStep,
} from './local.js';
