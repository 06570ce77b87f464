// infinyon/jolt: JSON to JSON transformation driven by a Jolt spec (map).
//
//   transforms:
//     - uses: infinyon/jolt@0.4.1
//       with:
//         spec:
//           - operation: shift
//             spec: {"*": "data.&"}
//
// Param `spec`: a JSON list of {"operation": "shift"|"default"|"remove",
// "spec": {...}}, applied in order. Behaviour of the Hub module (jolt 0.3.x -
// 0.4.1, fluvio-jolt 0.3): shift builds a new document from `*`, `a|b`,
// `&`, `&(n,m)`, `@`, `@(n,path)`, `$`, `#literal` and `[]`/`[n]` paths
// (colliding writes make arrays, nothing matched gives null); default fills
// missing leaves; remove deletes leaves (moving the object's last member into
// the removed one's place, as serde_json's Map::remove does). The record key
// is kept; the value is written as compact JSON. Written with the
// @freshet/smartmodule SDK from the behaviour documented in
// fluvio-hub-smartmodules.md.

import { Params, Record, fail, JsonValue, JsonKind, parseJson, parseJsonBytes } from "@freshet/smartmodule";

// ---- DSL tokens --------------------------------------------------------------------

const T_DOLLAR: u8 = 0;
const T_AMP: u8 = 1;
const T_AT: u8 = 2;
const T_SQUARE: u8 = 3;
const T_STAR: u8 = 4;
const T_PIPE: u8 = 5;
const T_OPEN_BRKT: u8 = 6;
const T_CLOSE_BRKT: u8 = 7;
const T_OPEN_PRNTH: u8 = 8;
const T_CLOSE_PRNTH: u8 = 9;
const T_DOT: u8 = 10;
const T_COMMA: u8 = 11;
const T_KEY: u8 = 12;

const SPECIAL = "$&@#*|[]().,\\";
const MAX_DEPTH: i32 = 4;

class Token {
  constructor(
    public kind: u8,
    public key: string = "",
  ) {}
}

class ParseFailure {
  constructor(public message: string) {}
}

let parseError: ParseFailure | null = null;

function parseFail(message: string): void {
  if (parseError == null) parseError = new ParseFailure(message);
}

class Tokenizer {
  chars: string[] = [];
  pos: i32 = 0;
  buf: Token | null = null;

  constructor(input: string) {
    for (let i = 0; i < input.length; ) {
      const c = input.codePointAt(i);
      this.chars.push(String.fromCodePoint(c));
      i += c > 0xffff ? 2 : 1;
    }
  }

  putBack(t: Token): void {
    this.buf = t;
  }

  next(): Token | null {
    const b = this.buf;
    if (b != null) {
      this.buf = null;
      return b;
    }
    if (this.pos >= this.chars.length) return null;
    const c = this.chars[this.pos];
    if (c == "$") return this.single(T_DOLLAR);
    if (c == "&") return this.single(T_AMP);
    if (c == "@") return this.single(T_AT);
    if (c == "#") return this.single(T_SQUARE);
    if (c == "*") return this.single(T_STAR);
    if (c == "|") return this.single(T_PIPE);
    if (c == "[") return this.single(T_OPEN_BRKT);
    if (c == "]") return this.single(T_CLOSE_BRKT);
    if (c == "(") return this.single(T_OPEN_PRNTH);
    if (c == ")") return this.single(T_CLOSE_PRNTH);
    if (c == ".") return this.single(T_DOT);
    if (c == ",") return this.single(T_COMMA);
    // a key: up to the next special character, with \ escapes
    let key = "";
    while (this.pos < this.chars.length) {
      const ch = this.chars[this.pos];
      if (ch == "\\") {
        this.pos++;
        if (this.pos >= this.chars.length) {
          parseFail("Unexpected end of input");
          return null;
        }
        const e = this.chars[this.pos];
        if (SPECIAL.indexOf(e) < 0) {
          parseFail("Unexpected character: '" + e + "'");
          return null;
        }
        key += e;
        this.pos++;
      } else if (SPECIAL.indexOf(ch) >= 0) {
        break;
      } else {
        key += ch;
        this.pos++;
      }
    }
    return new Token(T_KEY, key);
  }

  private single(kind: u8): Token {
    this.pos++;
    return new Token(kind);
  }
}

// ---- DSL syntax tree -----------------------------------------------------------------

const P_INDEX: u8 = 0;
const P_COMPOSITE: u8 = 1;
const P_KEY: u8 = 2;

const E_AMP: u8 = 0;
const E_AT: u8 = 1;
const E_KEY: u8 = 2;

const I_AMP: u8 = 0;
const I_LITERAL: u8 = 1;
const I_AT: u8 = 2;
const I_EMPTY: u8 = 3;

class Rhs {
  parts: RhsPart[] = [];
}

class RhsEntry {
  kind: u8 = E_KEY;
  i0: i32 = 0;
  i1: i32 = 0;
  rhs: Rhs | null = null;
  key: string = "";
}

class IndexOp {
  kind: u8 = I_EMPTY;
  i0: i32 = 0;
  i1: i32 = 0;
  literal: i32 = 0;
  rhs: Rhs | null = null;
}

class RhsPart {
  kind: u8 = P_KEY;
  index: IndexOp | null = null;
  entries: RhsEntry[] = [];
}

const L_DOLLAR: u8 = 0;
const L_AMP: u8 = 1;
const L_AT: u8 = 2;
const L_SQUARE: u8 = 3;
const L_PIPES: u8 = 4;
const L_LITERAL: u8 = 5;

class Lhs {
  kind: u8 = L_LITERAL;
  i0: i32 = 0;
  i1: i32 = 0;
  rhs: Rhs | null = null;
  text: string = "";
  /** Alternatives, each a list of literals separated by stars ("*" is ["", ""]). */
  pipes: string[][] = [];
}

class DslParser {
  t: Tokenizer;
  constructor(input: string) {
    this.t = new Tokenizer(input);
  }

  private nextOrFail(): Token | null {
    const tok = this.t.next();
    if (tok == null && parseError == null) parseFail("Unexpected end of input");
    return tok;
  }

  private expect(kind: u8): bool {
    const tok = this.nextOrFail();
    if (tok == null) return false;
    if (tok.kind != kind) {
      parseFail("Unexpected token");
      return false;
    }
    return true;
  }

  parseLhs(): Lhs | null {
    const tok = this.t.next();
    if (parseError != null) return null;
    const lhs = new Lhs();
    if (tok == null) {
      lhs.kind = L_PIPES;
      lhs.pipes = [[""]];
      return lhs;
    }
    if (tok.kind == T_SQUARE) {
      lhs.kind = L_SQUARE;
      const k = this.t.next();
      if (k != null) {
        if (k.kind != T_KEY) {
          parseFail("Unexpected token");
          return null;
        }
        lhs.text = k.key;
      }
    } else if (tok.kind == T_AT) {
      lhs.kind = L_AT;
      if (!this.atTuple(0, lhs)) return null;
    } else if (tok.kind == T_DOLLAR || tok.kind == T_AMP) {
      lhs.kind = tok.kind == T_DOLLAR ? L_DOLLAR : L_AMP;
      if (!this.numTuple(lhs)) return null;
    } else if (tok.kind == T_KEY || tok.kind == T_STAR || tok.kind == T_PIPE) {
      this.t.putBack(tok);
      const pipes = this.parsePipes();
      if (pipes == null) return null;
      if (pipes.length == 1 && pipes[0].length == 1) {
        lhs.kind = L_LITERAL;
        lhs.text = pipes[0][0];
      } else {
        lhs.kind = L_PIPES;
        lhs.pipes = pipes;
      }
    } else {
      parseFail("Unexpected token");
      return null;
    }
    if (parseError != null) return null;
    if (this.t.next() != null || parseError != null) {
      parseFail("Unexpected token");
      return null;
    }
    return lhs;
  }

  parseRhs(): Rhs | null {
    const rhs = this.rhsImpl(0);
    if (rhs == null) return null;
    if (this.t.next() != null || parseError != null) {
      parseFail("Unexpected token");
      return null;
    }
    return rhs;
  }

  private rhsImpl(depth: i32): Rhs | null {
    if (depth > MAX_DEPTH) {
      parseFail("Maximum recursion depth (4) reached.");
      return null;
    }
    const rhs = new Rhs();
    const first = this.t.next();
    if (parseError != null) return null;
    if (first == null) return rhs;
    if (first.kind == T_OPEN_BRKT) {
      const op = this.indexOp(depth);
      if (op == null || !this.expect(T_CLOSE_BRKT)) return null;
      const part = new RhsPart();
      part.kind = P_INDEX;
      part.index = op;
      rhs.parts.push(part);
    } else {
      this.t.putBack(first);
      const part = this.rhsPart(depth);
      if (parseError != null) return null;
      if (part != null) rhs.parts.push(part);
    }
    while (true) {
      const tok = this.t.next();
      if (parseError != null) return null;
      if (tok == null) break;
      if (tok.kind == T_OPEN_BRKT) {
        const op = this.indexOp(depth);
        if (op == null || !this.expect(T_CLOSE_BRKT)) return null;
        const part = new RhsPart();
        part.kind = P_INDEX;
        part.index = op;
        rhs.parts.push(part);
      } else if (tok.kind == T_DOT) {
        const part = this.rhsPart(depth);
        if (parseError != null) return null;
        if (part == null) break;
        rhs.parts.push(part);
      } else {
        this.t.putBack(tok);
        break;
      }
    }
    return rhs;
  }

  private rhsPart(depth: i32): RhsPart | null {
    const entries = new Array<RhsEntry>();
    while (true) {
      const tok = this.t.next();
      if (parseError != null) return null;
      if (tok == null) break;
      const e = new RhsEntry();
      if (tok.kind == T_AMP) {
        e.kind = E_AMP;
        const l = new Lhs();
        if (!this.numTuple(l)) return null;
        e.i0 = l.i0;
        e.i1 = l.i1;
      } else if (tok.kind == T_AT) {
        e.kind = E_AT;
        const l = new Lhs();
        if (!this.atTuple(depth, l)) return null;
        e.i0 = l.i0;
        e.rhs = l.rhs;
      } else if (tok.kind == T_KEY) {
        e.kind = E_KEY;
        e.key = tok.key;
      } else {
        this.t.putBack(tok);
        break;
      }
      entries.push(e);
    }
    if (entries.length == 0) return null;
    const part = new RhsPart();
    part.kind = entries.length == 1 ? P_KEY : P_COMPOSITE;
    part.entries = entries;
    return part;
  }

  private indexOp(depth: i32): IndexOp | null {
    const tok = this.nextOrFail();
    if (tok == null) return null;
    const op = new IndexOp();
    if (tok.kind == T_AMP) {
      op.kind = I_AMP;
      const l = new Lhs();
      if (!this.numTuple(l)) return null;
      op.i0 = l.i0;
      op.i1 = l.i1;
    } else if (tok.kind == T_CLOSE_BRKT) {
      this.t.putBack(tok);
      op.kind = I_EMPTY;
    } else if (tok.kind == T_KEY) {
      op.kind = I_LITERAL;
      const n = parseUsize(tok.key);
      if (n < 0) {
        parseFail("Invalid index literal");
        return null;
      }
      op.literal = n;
    } else if (tok.kind == T_AT) {
      op.kind = I_AT;
      const l = new Lhs();
      if (!this.atTuple(depth, l)) return null;
      op.i0 = l.i0;
      op.rhs = l.rhs;
    } else {
      parseFail("Unexpected token");
      return null;
    }
    return op;
  }

  /** `@`, `@(rhs)` or `@(n,rhs)` after the `@`: fills i0 and rhs. */
  private atTuple(depth: i32, into: Lhs): bool {
    into.i0 = 0;
    into.rhs = new Rhs();
    const tok = this.t.next();
    if (parseError != null) return false;
    if (tok == null) return true;
    if (tok.kind != T_OPEN_PRNTH) {
      this.t.putBack(tok);
      return true;
    }
    const first = this.rhsImpl(depth + 1);
    if (first == null) return false;
    const sep = this.nextOrFail();
    if (sep == null) return false;
    if (sep.kind == T_CLOSE_PRNTH) {
      into.rhs = first;
      return true;
    }
    if (sep.kind != T_COMMA) {
      parseFail("Unexpected token");
      return false;
    }
    // the first part must be a lone index
    if (first.parts.length != 1 || first.parts[0].kind != P_KEY || first.parts[0].entries[0].kind != E_KEY) {
      parseFail("expected an index value but failed to find it.");
      return false;
    }
    const idx = parseUsize(first.parts[0].entries[0].key);
    if (idx < 0) {
      parseFail("Invalid index literal");
      return false;
    }
    const second = this.rhsImpl(depth + 1);
    if (second == null || !this.expect(T_CLOSE_PRNTH)) return false;
    into.i0 = idx;
    into.rhs = second;
    return true;
  }

  /** `&`, `&(n)`, `&(n,m)` (and `$…`) after the sigil: fills i0, i1. */
  private numTuple(into: Lhs): bool {
    into.i0 = 0;
    into.i1 = 0;
    const tok = this.t.next();
    if (parseError != null) return false;
    if (tok == null) return true;
    if (tok.kind != T_OPEN_PRNTH) {
      this.t.putBack(tok);
      return true;
    }
    const a = this.index();
    if (a < 0) return false;
    const sep = this.nextOrFail();
    if (sep == null) return false;
    if (sep.kind == T_CLOSE_PRNTH) {
      into.i0 = a;
      return true;
    }
    if (sep.kind != T_COMMA) {
      parseFail("Unexpected token");
      return false;
    }
    const b = this.index();
    if (b < 0 || !this.expect(T_CLOSE_PRNTH)) return false;
    into.i0 = a;
    into.i1 = b;
    return true;
  }

  private index(): i32 {
    const tok = this.nextOrFail();
    if (tok == null) return -1;
    if (tok.kind != T_KEY) {
      parseFail("expected an index value but failed to find it.");
      return -1;
    }
    const n = parseUsize(tok.key);
    if (n < 0) parseFail("Invalid index literal");
    return n;
  }

  private parsePipes(): string[][] | null {
    const pipes = new Array<string[]>();
    let last = 0; // 0 none, 1 stars, 2 pipe
    while (true) {
      const tok = this.t.next();
      if (parseError != null) return null;
      if (tok == null) break;
      if (tok.kind == T_KEY || tok.kind == T_STAR) {
        if (last == 1) {
          parseFail("Unexpected token");
          return null;
        }
        this.t.putBack(tok);
        const stars = this.parseStars();
        if (stars == null) return null;
        pipes.push(stars);
        last = 1;
      } else if (tok.kind == T_PIPE) {
        if (last == 0) pipes.push([""]);
        else if (last == 2) {
          parseFail("Unexpected token");
          return null;
        }
        last = 2;
      } else {
        this.t.putBack(tok);
        break;
      }
    }
    if (last == 2) pipes.push([""]);
    return pipes;
  }

  private parseStars(): string[] | null {
    const stars = new Array<string>();
    let last = 0; // 0 none, 1 star, 2 key
    while (true) {
      const tok = this.t.next();
      if (parseError != null) return null;
      if (tok == null) break;
      if (tok.kind == T_STAR) {
        if (last == 0) stars.push("");
        else if (last == 1) {
          parseFail("Unexpected token");
          return null;
        }
        last = 1;
      } else if (tok.kind == T_KEY) {
        if (last == 2) {
          parseFail("Unexpected token");
          return null;
        }
        stars.push(tok.key);
        last = 2;
      } else {
        this.t.putBack(tok);
        break;
      }
    }
    if (last == 1) stars.push("");
    return stars;
  }
}

/** Rust's usize::from_str for an index (optional '+', digits); -1 when it is not one. */
function parseUsize(s: string): i32 {
  let i = 0;
  if (s.length > 0 && s.charCodeAt(0) == 0x2b) i = 1;
  if (i >= s.length) return -1;
  let v: i64 = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <i64>(c - 0x30);
    if (v > <i64>i32.MAX_VALUE) return -1;
  }
  return <i32>v;
}

// ---- shift spec objects ---------------------------------------------------------------

const R_OBJ: u8 = 0;
const R_RHS: u8 = 1;
const R_TRASH: u8 = 2;

class REntry {
  kind: u8 = R_TRASH;
  obj: ShiftObject | null = null;
  rhs: Rhs[] = [];
}

class Infallible {
  constructor(
    public lhs: Lhs,
    public rhs: Rhs[],
  ) {}
}

class Keyed {
  constructor(
    public lhs: Lhs,
    public entry: REntry,
  ) {}
}

class ShiftObject {
  infallible: Infallible[] = [];
  literal: Keyed[] = [];
  amp: Keyed[] = [];
  pipes: Keyed[] = [];
}

function parseRhsText(text: string): Rhs | null {
  return new DslParser(text).parseRhs();
}

/** A string or a (nested) list of strings: the RHS list of `$`, `@` and `#` keys. */
function parseRhss(v: JsonValue, out: Rhs[]): bool {
  if (v.isString()) {
    const r = parseRhsText(v.stringValue);
    if (r == null) return false;
    out.push(r);
    return true;
  }
  if (v.isArray()) {
    for (let i = 0; i < v.items.length; i++) if (!parseRhss(v.items[i], out)) return false;
    return true;
  }
  parseFail("expected a right hand side expression or an array of them");
  return false;
}

function parseREntry(v: JsonValue): REntry | null {
  const e = new REntry();
  if (v.isString()) {
    const r = parseRhsText(v.stringValue);
    if (r == null) return null;
    e.kind = R_RHS;
    e.rhs.push(r);
  } else if (v.isArray()) {
    e.kind = R_RHS;
    for (let i = 0; i < v.items.length; i++) {
      const item = v.items[i];
      if (!item.isString()) {
        parseFail("expected a right hand side expression");
        return null;
      }
      const r = parseRhsText(item.stringValue);
      if (r == null) return null;
      e.rhs.push(r);
    }
  } else if (v.isObject()) {
    const o = parseShiftObject(v);
    if (o == null) return null;
    e.kind = R_OBJ;
    e.obj = o;
  } else if (v.isNull()) {
    e.kind = R_TRASH;
  } else {
    parseFail("expected a right hand side object or expression");
    return null;
  }
  return e;
}

function parseShiftObject(v: JsonValue): ShiftObject | null {
  if (!v.isObject()) {
    parseFail("expected a map");
    return null;
  }
  const obj = new ShiftObject();
  for (let i = 0; i < v.keys.length; i++) {
    const lhs = new DslParser(v.keys[i]).parseLhs();
    if (lhs == null) return null;
    const value = v.values[i];
    if (lhs.kind == L_DOLLAR || lhs.kind == L_AT || lhs.kind == L_SQUARE) {
      const rhs = new Array<Rhs>();
      if (!parseRhss(value, rhs)) return null;
      obj.infallible.push(new Infallible(lhs, rhs));
    } else {
      const entry = parseREntry(value);
      if (entry == null) return null;
      const keyed = new Keyed(lhs, entry);
      if (lhs.kind == L_AMP) obj.amp.push(keyed);
      else if (lhs.kind == L_PIPES) obj.pipes.push(keyed);
      else obj.literal.push(keyed);
    }
  }
  return obj;
}

// ---- operations -------------------------------------------------------------------------

const OP_SHIFT: u8 = 0;
const OP_DEFAULT: u8 = 1;
const OP_REMOVE: u8 = 2;

class Operation {
  kind: u8 = OP_SHIFT;
  shift: ShiftObject | null = null;
  spec: JsonValue = JsonValue.null();
}

/** Parses the `spec` param; null (and parseError) when it is not a valid specification. */
function parseSpec(text: string): Operation[] | null {
  const parsed = parseJson(text);
  if (!parsed.ok) {
    parseFail(parsed.error);
    return null;
  }
  const list = parsed.value!;
  if (!list.isArray()) {
    parseFail("the specification must be a list of operations");
    return null;
  }
  const ops = new Array<Operation>();
  for (let i = 0; i < list.items.length; i++) {
    const item = list.items[i];
    if (!item.isObject()) {
      parseFail("an operation must be an object");
      return null;
    }
    const name = item.get("operation");
    const spec = item.get("spec");
    if (name == null || !name.isString()) {
      parseFail("missing field `operation`");
      return null;
    }
    if (spec == null) {
      parseFail("missing field `spec`");
      return null;
    }
    const op = new Operation();
    const n = name.stringValue;
    if (n == "shift") {
      op.kind = OP_SHIFT;
      const obj = parseShiftObject(spec);
      if (obj == null) return null;
      op.shift = obj;
    } else if (n == "default") {
      op.kind = OP_DEFAULT;
      op.spec = spec;
    } else if (n == "remove") {
      op.kind = OP_REMOVE;
      op.spec = spec;
    } else {
      parseFail("unknown variant `" + n + "`, expected one of `shift`, `default`, `remove`");
      return null;
    }
    ops.push(op);
  }
  return ops;
}

// ---- shift execution ---------------------------------------------------------------------

/** An execution error (the record fails with this text). */
let execError: string | null = null;

function execFail(message: string): void {
  if (execError == null) execError = message;
}

class Level {
  constructor(
    public matches: string[],
    public value: JsonValue,
  ) {}
}

function getMatch(i0: i32, i1: i32, path: Level[]): string | null {
  const len = path.length;
  if (i0 >= len) {
    execFail("Path index out of range when using wildcard. Index=" + i0.toString() + ";Length=" + len.toString() + ";");
    return null;
  }
  const matches = path[len - i0 - 1].matches;
  if (i1 >= matches.length) {
    execFail("Match index out of range when using wildcard. Index=" + i1.toString() + ";Length=" + matches.length.toString() + ";");
    return null;
  }
  return matches[i1];
}

function evalAt(i0: i32, rhs: Rhs, path: Level[]): JsonValue | null {
  const len = path.length;
  if (i0 >= len) {
    execFail("Path index out of range when using wildcard. Index=" + i0.toString() + ";Length=" + len.toString() + ";");
    return null;
  }
  return evalRhs(rhs, path[len - i0 - 1].value, path);
}

function indexFromValue(v: JsonValue): i32 {
  if (v.isNumber()) {
    const n = v.toIndex();
    if (n < 0) {
      execFail("Json value can't be used as an index: Number(" + v.scalarText() + ")");
      return -1;
    }
    return <i32>n;
  }
  if (v.isString()) return parseIndexText(v.stringValue);
  execFail("Json value can't be used as an index: " + debugValue(v));
  return -1;
}

function parseIndexText(s: string): i32 {
  const n = parseUsize(s);
  if (n < 0) execFail("Invalid index in expression.\n" + (s.length == 0 ? "cannot parse integer from empty string" : "invalid digit found in string"));
  return n;
}

function debugValue(v: JsonValue): string {
  if (v.isNull()) return "Null";
  if (v.isBool()) return "Bool(" + (v.boolValue ? "true" : "false") + ")";
  if (v.isString()) return "String(" + v.stringify() + ")";
  if (v.isArray()) return "Array " + v.stringify();
  return "Object " + v.stringify();
}

/** The index an IndexOp names (-1 on error; -2 for `[]`). */
function indexOf(op: IndexOp, path: Level[]): i32 {
  if (op.kind == I_LITERAL) return op.literal;
  if (op.kind == I_AMP) {
    const m = getMatch(op.i0, op.i1, path);
    if (m == null) return -1;
    return parseIndexText(m);
  }
  if (op.kind == I_AT) {
    const v = evalAt(op.i0, op.rhs!, path);
    if (v == null) return -1;
    return indexFromValue(v);
  }
  return -2;
}

function entryText(e: RhsEntry, path: Level[]): string | null {
  if (e.kind == E_KEY) return e.key;
  if (e.kind == E_AMP) return getMatch(e.i0, e.i1, path);
  const v = evalAt(e.i0, e.rhs!, path);
  if (v == null) return null;
  if (v.isString() || v.isNumber() || v.isBool()) return v.scalarText();
  execFail("Expression didn't evaluate to a string.");
  return null;
}

function partKey(part: RhsPart, path: Level[]): string | null {
  let key = "";
  for (let i = 0; i < part.entries.length; i++) {
    const t = entryText(part.entries[i], path);
    if (t == null) return null;
    key += t;
  }
  return key;
}

function evalRhs(rhs: Rhs, start: JsonValue, path: Level[]): JsonValue | null {
  let v = start;
  for (let i = 0; i < rhs.parts.length; i++) {
    const part = rhs.parts[i];
    if (part.kind == P_INDEX) {
      if (!v.isArray()) {
        execFail("Unexpected right hand side expression.");
        return null;
      }
      const op = part.index!;
      if (op.kind == I_EMPTY) {
        execFail("Unexpected right hand side expression.");
        return null;
      }
      const idx = indexOf(op, path);
      if (idx < 0) return null;
      if (idx >= v.items.length) {
        execFail("Array index out of range. Index=" + idx.toString() + ";Length=" + v.items.length.toString() + ";");
        return null;
      }
      v = v.items[idx];
    } else {
      const key = partKey(part, path);
      if (key == null) return null;
      if (!v.isObject()) {
        execFail("Unexpected right hand side expression.");
        return null;
      }
      const next = v.get(key);
      if (next == null) {
        execFail("Key not found in object:" + key);
        return null;
      }
      v = next;
    }
  }
  return v.clone();
}

/** Writes `v` at the output path `rhs` (a value already there becomes [old, v]). */
function insertAt(rhs: Rhs, v: JsonValue, path: Level[], out: JsonValue): bool {
  let cur = out;
  for (let i = 0; i < rhs.parts.length; i++) {
    const part = rhs.parts[i];
    if (part.kind == P_INDEX) {
      if (cur.isNull()) cur.reset(JsonKind.Array);
      else if (!cur.isArray()) {
        const old = new JsonValue();
        old.assign(cur);
        cur.reset(JsonKind.Array);
        cur.items.push(old);
      }
      const op = part.index!;
      if (op.kind == I_EMPTY) {
        const slot = JsonValue.null();
        cur.items.push(slot);
        cur = slot;
        continue;
      }
      const idx = indexOf(op, path);
      if (idx < 0) return false;
      if (idx > 10000000) {
        execFail("Array index out of range. Index=" + idx.toString() + ";Length=" + cur.items.length.toString() + ";");
        return false;
      }
      while (cur.items.length <= idx) cur.items.push(JsonValue.null());
      cur = cur.items[idx];
    } else {
      const key = partKey(part, path);
      if (key == null) return false;
      if (!cur.isObject()) cur.reset(JsonKind.Object);
      cur = cur.entry(key);
    }
  }
  if (cur.isNull()) {
    cur.assign(v);
  } else if (cur.isArray()) {
    cur.items.push(v);
  } else {
    const old = new JsonValue();
    old.assign(cur);
    cur.reset(JsonKind.Array);
    cur.items.push(old);
    cur.items.push(v);
  }
  return true;
}

function matchStars(stars: string[], k: string): string[] | null {
  if (stars.length == 0) return k.length == 0 ? [""] : null;
  if (stars.length == 1) return k == stars[0] ? [k] : null;
  const m = new Array<string>();
  m.push(k);
  let rest = k;
  const prefix = stars[0];
  if (prefix.length > 0) {
    if (!rest.startsWith(prefix)) return null;
    rest = rest.substring(prefix.length);
  }
  for (let i = 1; i < stars.length; i++) {
    const pattern = stars[i];
    if (pattern.length > 0) {
      const idx = rest.indexOf(pattern);
      if (idx < 0) return null;
      m.push(rest.substring(0, idx));
      rest = rest.substring(idx);
    } else {
      m.push(rest);
    }
  }
  return m;
}

function applyMatch(v: JsonValue, entry: REntry, path: Level[], out: JsonValue): bool {
  if (entry.kind == R_OBJ) return applyObject(entry.obj!, path, out);
  if (entry.kind == R_RHS) {
    for (let i = 0; i < entry.rhs.length; i++) if (!insertAt(entry.rhs[i], v.clone(), path, out)) return false;
  }
  return true;
}

function matchKey(obj: ShiftObject, path: Level[], k: string, v: JsonValue, out: JsonValue): bool {
  for (let i = 0; i < obj.literal.length; i++) {
    const lit = obj.literal[i];
    if (lit.lhs.text == k) {
      path.push(new Level([lit.lhs.text], v));
      const ok = applyMatch(v, lit.entry, path, out);
      path.pop();
      return ok;
    }
  }
  for (let i = 0; i < obj.amp.length; i++) {
    const amp = obj.amp[i];
    const m = getMatch(amp.lhs.i0, amp.lhs.i1, path);
    if (m == null) return false;
    if (m == k) {
      path.push(new Level([m], v));
      const ok = applyMatch(v, amp.entry, path, out);
      path.pop();
      return ok;
    }
  }
  for (let i = 0; i < obj.pipes.length; i++) {
    const p = obj.pipes[i];
    for (let j = 0; j < p.lhs.pipes.length; j++) {
      const m = matchStars(p.lhs.pipes[j], k);
      if (m != null) {
        path.push(new Level(m, v));
        const ok = applyMatch(v, p.entry, path, out);
        path.pop();
        return ok;
      }
    }
  }
  return true;
}

function applyObject(obj: ShiftObject, path: Level[], out: JsonValue): bool {
  const tip = path[path.length - 1];
  for (let i = 0; i < obj.infallible.length; i++) {
    const inf = obj.infallible[i];
    let v: JsonValue;
    if (inf.lhs.kind == L_DOLLAR) {
      const m = getMatch(inf.lhs.i0, inf.lhs.i1, path);
      if (m == null) return false;
      v = JsonValue.string(m);
    } else if (inf.lhs.kind == L_AT) {
      const at = evalAt(inf.lhs.i0, inf.lhs.rhs!, path);
      if (at == null) return false;
      v = at;
    } else {
      v = JsonValue.string(inf.lhs.text);
    }
    path.push(tip);
    for (let j = 0; j < inf.rhs.length; j++) {
      if (!insertAt(inf.rhs[j], v.clone(), path, out)) {
        path.pop();
        return false;
      }
    }
    path.pop();
  }
  const input = tip.value;
  if (input.isObject()) {
    // keys may be added to `out` but never to the input: iterate a snapshot anyway
    const n = input.keys.length;
    for (let i = 0; i < n; i++) if (!matchKey(obj, path, input.keys[i], input.values[i], out)) return false;
  } else if (input.isArray()) {
    for (let i = 0; i < input.items.length; i++) if (!matchKey(obj, path, i.toString(), input.items[i], out)) return false;
  } else {
    // a scalar is its own key: "true", "12", the string, "null"
    if (!matchKey(obj, path, input.scalarText(), input, out)) return false;
  }
  return true;
}

function shift(obj: ShiftObject, input: JsonValue): JsonValue | null {
  const path = new Array<Level>();
  path.push(new Level(["root"], input));
  const out = JsonValue.null();
  if (!applyObject(obj, path, out)) return null;
  return out;
}

// ---- default and remove --------------------------------------------------------------------

class Leaf {
  constructor(
    /** Path names; the first is the root's "". */
    public names: string[],
    public value: JsonValue,
  ) {}
}

function leaves(v: JsonValue, names: string[], out: Leaf[]): void {
  if (v.isArray()) {
    for (let i = 0; i < v.items.length; i++) {
      const next = names.slice(0);
      next.push(i.toString());
      leaves(v.items[i], next, out);
    }
  } else if (v.isObject()) {
    for (let i = 0; i < v.keys.length; i++) {
      const next = names.slice(0);
      next.push(v.keys[i]);
      leaves(v.values[i], next, out);
    }
  } else {
    out.push(new Leaf(names, v));
  }
}

function specLeaves(spec: JsonValue): Leaf[] {
  const out = new Array<Leaf>();
  leaves(spec, [""], out);
  return out;
}

function applyDefault(input: JsonValue, spec: JsonValue): JsonValue {
  const ls = specLeaves(spec);
  for (let i = 0; i < ls.length; i++) {
    const leaf = ls[i];
    if (input.pointer(leaf.names.join("/")) != null) continue;
    // walk the names (not the pointer): a missing member becomes {}, a non-object on the way stops it
    let target = input;
    let ok = true;
    for (let j = 1; j < leaf.names.length; j++) {
      if (!target.isObject()) {
        ok = false;
        break;
      }
      const name = leaf.names[j];
      if (!target.has(name)) target.set(name, JsonValue.object());
      target = target.get(name)!;
    }
    if (!ok) continue;
    const value = leaf.value.clone();
    if (target.isObject() && value.isObject()) {
      for (let k = 0; k < value.keys.length; k++) target.set(value.keys[k], value.values[k]);
    } else {
      target.assign(value);
    }
  }
  return input;
}

function applyRemove(input: JsonValue, spec: JsonValue): JsonValue {
  const ls = specLeaves(spec);
  for (let i = 0; i < ls.length; i++) {
    const names = ls[i].names;
    if (input.pointer(names.join("/")) == null) continue;
    const parentNames = names.length > 1 ? names.slice(0, names.length - 1) : [""];
    const parent = input.pointer(parentNames.join("/"));
    if (parent != null && parent.isObject()) parent.swapRemove(names[names.length - 1]);
  }
  return input;
}

// ---- the SmartModule --------------------------------------------------------------------

let operations: Operation[] = [];

export function init(params: Params): void {
  const spec = params.get("spec");
  if (spec == null) {
    fail("Missing param spec");
    return;
  }
  parseError = null;
  const ops = parseSpec(spec);
  if (ops == null) {
    fail("could not parse the specification from `spec` param");
    return;
  }
  operations = ops;
}

export function map(record: Record): Record {
  const parsed = parseJsonBytes(record.value);
  if (!parsed.ok) {
    fail(parsed.error);
    return record;
  }
  let doc = parsed.value!;
  execError = null;
  for (let i = 0; i < operations.length; i++) {
    const op = operations[i];
    if (op.kind == OP_SHIFT) {
      const out = shift(op.shift!, doc);
      if (out == null) {
        fail(execError != null ? execError! : "shift failed");
        return record;
      }
      doc = out;
    } else if (op.kind == OP_DEFAULT) {
      doc = applyDefault(doc, op.spec);
    } else {
      doc = applyRemove(doc, op.spec);
    }
  }
  return record.withValue(doc.stringify());
}
