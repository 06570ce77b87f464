// infinyon/regex-filter: keeps the records whose value matches a regular
// expression (filter).
//
//   transforms:
//     - uses: infinyon/regex-filter@0.2.0
//       with:
//         regex: "[Cc]at"
//
// Param `regex` (required): Rust `regex` syntax, matched anywhere in the
// value (unanchored; `^…$` to anchor, `(?i)` to ignore case). The key is not
// looked at; kept records pass unchanged; a value that is not UTF-8 fails
// the record with Rust's from_utf8 message. Written with the
// @freshet/smartmodule SDK from the behaviour documented in
// fluvio-hub-smartmodules.md.

import { Params, Record, Regex, compileRegex, fail, utf8Error } from "@freshet/smartmodule";

let regex: Regex | null = null;

export function init(params: Params): void {
  const pattern = params.get("regex");
  if (pattern == null) {
    fail("Missing param regex");
    return;
  }
  const compiled = compileRegex(pattern);
  if (compiled.regex == null) {
    fail(compiled.error);
    return;
  }
  regex = compiled.regex;
}

export function filter(record: Record): bool {
  const err = utf8Error(record.value);
  if (err != null) {
    fail(err);
    return false;
  }
  // without init (no regex) this traps, as the Rust module's unwrap panics
  return regex!.isMatchBytes(record.value);
}
