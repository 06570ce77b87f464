// @freshet/smartmodule: write Fluvio SmartModules in AssemblyScript.
//
//   import { Record } from "@freshet/smartmodule";
//   export function filter(record: Record): bool {
//     return record.valueString().includes("a");
//   }
//
// `freshet sm build` compiles a file like this to a .wasm speaking Fluvio's
// SmartModule ABI. Export one of filter, map, filterMap, arrayMap or
// aggregate, and optionally init and lookBack (README.md).

export { Record, Params, Lookback, toBytes } from "./record";
export { fail, failed } from "./abi";
export { utf8, fromUtf8, utf8Error, bytesEqual } from "./bytes";
export { JsonValue, JsonKind, JsonParseResult, parseJson, parseJsonBytes, quoteJson, formatF64, JSON_MAX_DEPTH } from "./json";
export { Regex, RegexError, RegexCompileResult, compileRegex } from "./regex";
