// A regular-expression engine for SmartModules with the syntax of Rust's
// `regex` crate (what Fluvio's regex-filter uses) and its guarantee: no
// backtracking, matching in time linear in the input (a Pike VM over the
// code points of the text). It answers `isMatch` (unanchored search).
//
// Supported: literals and escapes (\n \t \r \f \v \a \x7F \x{10FFFF} \u{..}
// \U..), `.`, classes [a-z] [^..] with nesting and && -- ~~, POSIX
// [[:alpha:]], Perl classes \d \w \s (Unicode, as in Rust) and their
// negations, \p{..}/\pL for the general categories L Lu Ll Lt Lm Lo M N Nd
// P S Z Cc, Alphabetic and the scripts Latin Greek Cyrillic Han Hiragana
// Katakana Arabic Hebrew, groups (..) (?:..) (?P<n>..) (?<n>..), flags
// (?imsxU-imsxU) and (?flags:..), alternation, * + ? {n} {n,} {n,m} (lazy
// forms too), anchors ^ $ \A \z and word boundaries \b \B. Not supported,
// as in Rust: look-around and back-references.

import { LiteralFinder } from "./search";
import { unicodeTable } from "./unicode-tables";

const MAX_PROGRAM: i32 = 200000;
const MAX_DEPTH: i32 = 250;

// instructions
const OP_CLASS: u8 = 0;
const OP_SPLIT: u8 = 1;
const OP_JMP: u8 = 2;
const OP_MATCH: u8 = 3;
const OP_ASSERT: u8 = 4;

// assertions
const AS_START_TEXT: i32 = 0;
const AS_END_TEXT: i32 = 1;
const AS_START_LINE: i32 = 2;
const AS_END_LINE: i32 = 3;
const AS_WORD: i32 = 4;
const AS_NOT_WORD: i32 = 5;

// ---- code point sets: sorted, non-overlapping, non-adjacent [lo, hi] pairs --------

class Ranges {
  r: u32[] = [];

  static of(lo: u32, hi: u32): Ranges {
    const s = new Ranges();
    s.r.push(lo);
    s.r.push(hi);
    return s;
  }

  add(lo: u32, hi: u32): void {
    this.r.push(lo);
    this.r.push(hi);
  }

  addAll(o: Ranges): void {
    for (let i = 0; i < o.r.length; i++) this.r.push(o.r[i]);
  }

  /** Sorts and merges. */
  canonical(): Ranges {
    const n = this.r.length >> 1;
    if (n <= 1) return this;
    const idx = new Array<i32>(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    const r = this.r;
    // insertion sort on starts (sets are small; big tables arrive sorted)
    for (let i = 1; i < n; i++) {
      const cur = idx[i];
      let j = i - 1;
      while (j >= 0 && r[idx[j] << 1] > r[cur << 1]) {
        idx[j + 1] = idx[j];
        j--;
      }
      idx[j + 1] = cur;
    }
    const out = new Ranges();
    let lo = r[idx[0] << 1];
    let hi = r[(idx[0] << 1) + 1];
    for (let k = 1; k < n; k++) {
      const a = r[idx[k] << 1];
      const b = r[(idx[k] << 1) + 1];
      if (a <= hi + 1) {
        if (b > hi) hi = b;
      } else {
        out.add(lo, hi);
        lo = a;
        hi = b;
      }
    }
    out.add(lo, hi);
    return out;
  }

  negate(): Ranges {
    const s = this.canonical();
    const out = new Ranges();
    let next: u32 = 0;
    for (let i = 0; i < s.r.length; i += 2) {
      if (s.r[i] > next) out.add(next, s.r[i] - 1);
      next = s.r[i + 1] + 1;
    }
    if (next <= 0x10ffff) out.add(next, 0x10ffff);
    return out;
  }

  intersect(o: Ranges): Ranges {
    const a = this.canonical();
    const b = o.canonical();
    const out = new Ranges();
    let i = 0;
    let j = 0;
    while (i < a.r.length && j < b.r.length) {
      const lo = max(a.r[i], b.r[j]);
      const hi = min(a.r[i + 1], b.r[j + 1]);
      if (lo <= hi) out.add(lo, hi);
      if (a.r[i + 1] < b.r[j + 1]) i += 2;
      else j += 2;
    }
    return out;
  }

  minus(o: Ranges): Ranges {
    return this.intersect(o.negate());
  }

  contains(c: u32): bool {
    const r = this.r;
    let lo = 0;
    let hi = (r.length >> 1) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (c < r[mid << 1]) hi = mid - 1;
      else if (c > r[(mid << 1) + 1]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Adds the simple case variants of every code point (ranges over 4096 code points are left as they are). */
  caseFolded(): Ranges {
    const s = this.canonical();
    const out = new Ranges();
    out.addAll(s);
    for (let i = 0; i < s.r.length; i += 2) {
      const lo = s.r[i];
      const hi = s.r[i + 1];
      if (hi - lo > 4096) continue;
      for (let c = lo; c <= hi; c++) {
        const l = lowerCp(c);
        const u = upperCp(c);
        if (l != c) out.add(l, l);
        if (u != c) out.add(u, u);
        // the other cases of the lower-case form (Kelvin sign, long s, ...)
        if (l != c) {
          const ul = upperCp(l);
          if (ul != c) out.add(ul, ul);
        }
      }
    }
    return out.canonical();
  }
}

function lowerCp(c: u32): u32 {
  if (c < 0x80) return c >= 0x41 && c <= 0x5a ? c + 32 : c;
  const s = String.fromCodePoint(<i32>c).toLowerCase();
  const l = <u32>s.codePointAt(0);
  return s.length == (l > 0xffff ? 2 : 1) ? l : c;
}

function upperCp(c: u32): u32 {
  if (c < 0x80) return c >= 0x61 && c <= 0x7a ? c - 32 : c;
  const s = String.fromCodePoint(<i32>c).toUpperCase();
  const u = <u32>s.codePointAt(0);
  return s.length == (u > 0xffff ? 2 : 1) ? u : c;
}

const tableCache = new Map<string, Ranges>();

function table(name: string): Ranges | null {
  if (tableCache.has(name)) return tableCache.get(name);
  const text = unicodeTable(name);
  if (text == null) return null;
  const out = new Ranges();
  const parts = text.split(",");
  let prev: u32 = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const dash = p.indexOf("-");
    const lo = prev + <u32>I32.parseInt(dash < 0 ? p : p.substring(0, dash), 36);
    const hi = dash < 0 ? lo : lo + <u32>I32.parseInt(p.substring(dash + 1), 36);
    out.add(lo, hi);
    prev = hi;
  }
  tableCache.set(name, out);
  return out;
}

function isWordChar(c: i32): bool {
  if (c < 0) return false;
  if (c < 0x80) return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
  return table("word")!.contains(<u32>c);
}

// ---- syntax tree ----------------------------------------------------------------------

const N_EMPTY: u8 = 0;
const N_CLASS: u8 = 1;
const N_CONCAT: u8 = 2;
const N_ALT: u8 = 3;
const N_REPEAT: u8 = 4;
const N_ASSERT: u8 = 5;

class Node {
  kind: u8 = N_EMPTY;
  set: Ranges | null = null;
  children: Node[] = [];
  min: i32 = 0;
  /** -1: unbounded */
  max: i32 = -1;
  assertion: i32 = 0;

  static empty(): Node {
    return new Node();
  }
  static cls(set: Ranges): Node {
    const n = new Node();
    n.kind = N_CLASS;
    n.set = set;
    return n;
  }
  static assert(a: i32): Node {
    const n = new Node();
    n.kind = N_ASSERT;
    n.assertion = a;
    return n;
  }
}

class Flags {
  i: bool = false;
  m: bool = false;
  s: bool = false;
  x: bool = false;
  copy(): Flags {
    const f = new Flags();
    f.i = this.i;
    f.m = this.m;
    f.s = this.s;
    f.x = this.x;
    return f;
  }
}

/** A pattern that does not compile: Rust's message layout ("regex parse error: ..."). */
export class RegexError {
  constructor(
    public message: string,
    public position: i32,
  ) {}
}

class Parser {
  cps: i32[] = [];
  pos: i32 = 0;
  error: RegexError | null = null;
  depth: i32 = 0;

  constructor(public pattern: string) {
    for (let i = 0; i < pattern.length; ) {
      const c = pattern.codePointAt(i);
      this.cps.push(c);
      i += c > 0xffff ? 2 : 1;
    }
  }

  fail(msg: string): Node {
    if (this.error == null) this.error = new RegexError(msg, this.pos);
    return Node.empty();
  }

  eof(): bool {
    return this.pos >= this.cps.length;
  }

  peek(): i32 {
    return this.pos < this.cps.length ? this.cps[this.pos] : -1;
  }

  peekAt(k: i32): i32 {
    return this.pos + k < this.cps.length ? this.cps[this.pos + k] : -1;
  }

  skipExtended(flags: Flags): void {
    if (!flags.x) return;
    while (!this.eof()) {
      const c = this.peek();
      if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d || c == 0x0b || c == 0x0c) {
        this.pos++;
      } else if (c == 0x23) {
        while (!this.eof() && this.peek() != 0x0a) this.pos++;
      } else break;
    }
  }

  /** alternation := concat ('|' concat)* */
  parseAlt(flags: Flags): Node {
    if (++this.depth > MAX_DEPTH) return this.fail("exceeds the nesting limit");
    const branches = new Array<Node>();
    branches.push(this.parseConcat(flags));
    while (this.error == null && this.peek() == 0x7c) {
      this.pos++;
      branches.push(this.parseConcat(flags));
    }
    this.depth--;
    if (branches.length == 1) return branches[0];
    const n = new Node();
    n.kind = N_ALT;
    n.children = branches;
    return n;
  }

  parseConcat(flags: Flags): Node {
    const items = new Array<Node>();
    while (this.error == null) {
      this.skipExtended(flags);
      if (this.eof()) break;
      const c = this.peek();
      if (c == 0x7c || c == 0x29) break;
      // a flag group without ':' changes the flags for the rest of this group
      if (c == 0x28 && this.peekAt(1) == 0x3f && this.isFlagGroup()) {
        this.pos += 2;
        this.parseFlags(flags, true);
        continue;
      }
      let atom = this.parseAtom(flags);
      if (this.error != null) break;
      atom = this.parseRepeat(atom, flags);
      items.push(atom);
    }
    if (items.length == 1) return items[0];
    const n = new Node();
    n.kind = N_CONCAT;
    n.children = items;
    return n;
  }

  /** `(?flags)` (no colon) at pos. */
  isFlagGroup(): bool {
    let k = 2;
    while (true) {
      const c = this.peekAt(k);
      if (c == 0x29) return true;
      if (c == 0x69 || c == 0x6d || c == 0x73 || c == 0x78 || c == 0x55 || c == 0x75 || c == 0x52 || c == 0x2d) {
        k++;
        continue;
      }
      return false;
    }
  }

  /** After `(?`: flags up to ')' (standalone) or ':' (scoped). */
  parseFlags(flags: Flags, standalone: bool): void {
    let negate = false;
    let any = false;
    while (!this.eof()) {
      const c = this.peek();
      this.pos++;
      if (c == 0x29 || c == 0x3a) {
        if (standalone != (c == 0x29)) {
          this.fail("unrecognized flag");
          return;
        }
        if (negate && !any) {
          this.fail("expected flag but got end of flag group");
          return;
        }
        return;
      }
      if (c == 0x2d) {
        if (negate) {
          this.fail("duplicate negation in flag group");
          return;
        }
        negate = true;
        any = false;
        continue;
      }
      any = true;
      if (c == 0x69) flags.i = !negate;
      else if (c == 0x6d) flags.m = !negate;
      else if (c == 0x73) flags.s = !negate;
      else if (c == 0x78) flags.x = !negate;
      else if (c == 0x55 || c == 0x75 || c == 0x52) {
        // U (swap greed), u (Unicode), R (CRLF): no effect on whether a text matches here
      } else {
        this.pos--;
        this.fail("unrecognized flag");
        return;
      }
    }
    this.fail("unclosed group");
  }

  parseAtom(flags: Flags): Node {
    const c = this.peek();
    this.pos++;
    switch (c) {
      case 0x28: // (
        return this.parseGroup(flags);
      case 0x5b: {
        // [..]: case folding happens inside, before negation (as Rust's translator does)
        const cls = this.parseClass(flags);
        return cls == null ? Node.empty() : Node.cls(cls);
      }
      case 0x2e: // .
        return Node.cls(flags.s ? Ranges.of(0, 0x10ffff) : Ranges.of(0x0a, 0x0a).negate());
      case 0x5e: // ^
        return Node.assert(flags.m ? AS_START_LINE : AS_START_TEXT);
      case 0x24: // $
        return Node.assert(flags.m ? AS_END_LINE : AS_END_TEXT);
      case 0x5c: // \
        return this.parseEscape(flags);
      case 0x2a:
      case 0x2b:
      case 0x3f:
        this.pos--;
        return this.fail("repetition operator missing expression");
      case 0x7b: {
        // '{' that does not start a valid repetition is a literal in Rust only when it cannot be one
        this.pos--;
        return this.fail("repetition operator missing expression");
      }
      default:
        return this.literal(<u32>c, flags);
    }
  }

  literal(c: u32, flags: Flags): Node {
    const set = Ranges.of(c, c);
    return Node.cls(flags.i ? set.caseFolded() : set);
  }

  finishClass(set: Ranges | null, flags: Flags): Node {
    if (set == null) return Node.empty();
    return Node.cls(flags.i ? set.caseFolded() : set.canonical());
  }

  parseGroup(flags: Flags): Node {
    const inner = flags.copy();
    if (this.peek() == 0x3f) {
      this.pos++;
      const c = this.peek();
      if (c == 0x50 && this.peekAt(1) == 0x3c) {
        this.pos += 2;
        if (!this.groupName()) return Node.empty();
      } else if (c == 0x3c) {
        this.pos++;
        if (this.peek() == 0x3d || this.peek() == 0x21) return this.fail("look-around, including look-ahead and look-behind, is not supported");
        if (!this.groupName()) return Node.empty();
      } else if (c == 0x3d || c == 0x21) {
        return this.fail("look-around, including look-ahead and look-behind, is not supported");
      } else {
        this.parseFlags(inner, false);
        if (this.error != null) return Node.empty();
      }
    }
    const node = this.parseAlt(inner);
    if (this.error != null) return node;
    if (this.peek() != 0x29) return this.fail("unclosed group");
    this.pos++;
    return node;
  }

  groupName(): bool {
    const start = this.pos;
    while (!this.eof() && this.peek() != 0x3e) {
      const c = this.peek();
      const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2e || c == 0x5b || c == 0x5d;
      if (!ok) {
        this.fail("invalid capture group character");
        return false;
      }
      this.pos++;
    }
    if (this.eof()) {
      this.fail("unclosed capture group name");
      return false;
    }
    if (this.pos == start) {
      this.fail("empty capture group name");
      return false;
    }
    this.pos++;
    return true;
  }

  parseRepeat(atom: Node, flags: Flags): Node {
    while (this.error == null) {
      this.skipExtended(flags);
      const c = this.peek();
      let lo = 0;
      let hi = -1;
      if (c == 0x2a) {
        this.pos++;
      } else if (c == 0x2b) {
        this.pos++;
        lo = 1;
      } else if (c == 0x3f) {
        this.pos++;
        hi = 1;
      } else if (c == 0x7b) {
        const save = this.pos;
        this.pos++;
        const a = this.number();
        if (a < 0) {
          this.pos = save;
          this.fail("repetition quantifier expects a valid decimal");
          return atom;
        }
        lo = a;
        hi = a;
        if (this.peek() == 0x2c) {
          this.pos++;
          if (this.peek() == 0x7d) hi = -1;
          else {
            hi = this.number();
            if (hi < 0) {
              this.fail("repetition quantifier expects a valid decimal");
              return atom;
            }
          }
        }
        if (this.peek() != 0x7d) {
          this.fail("unclosed counted repetition");
          return atom;
        }
        this.pos++;
        if (hi >= 0 && hi < lo) {
          this.fail("invalid repetition count range, the start must be <= the end");
          return atom;
        }
      } else {
        return atom;
      }
      if (atom.kind == N_ASSERT || atom.kind == N_EMPTY) {
        // Rust accepts repetition of empty and look-around-free assertions; the meaning does not change
      }
      if (this.peek() == 0x3f) this.pos++; // lazy: same set of matching texts
      const rep = new Node();
      rep.kind = N_REPEAT;
      rep.children = [atom];
      rep.min = lo;
      rep.max = hi;
      atom = rep;
    }
    return atom;
  }

  number(): i32 {
    const start = this.pos;
    let v: i64 = 0;
    while (!this.eof() && this.peek() >= 0x30 && this.peek() <= 0x39) {
      v = v * 10 + <i64>(this.peek() - 0x30);
      if (v > 100000) return -1;
      this.pos++;
    }
    return this.pos == start ? -1 : <i32>v;
  }

  parseEscape(flags: Flags): Node {
    if (this.eof()) return this.fail("incomplete escape sequence, reached end of pattern prematurely");
    const c = this.peek();
    this.pos++;
    switch (c) {
      case 0x41: // \A
        return Node.assert(AS_START_TEXT);
      case 0x7a: // \z
        return Node.assert(AS_END_TEXT);
      case 0x62: // \b
        if (this.peek() == 0x7b) return this.fail("special word boundary assertions are not supported");
        return Node.assert(AS_WORD);
      case 0x42: // \B
        return Node.assert(AS_NOT_WORD);
      case 0x3c:
      case 0x3e:
        return this.fail("special word boundary assertions are not supported");
    }
    this.pos--;
    const set = this.escapeSet();
    if (set == null) return Node.empty();
    return this.finishClass(set, flags);
  }

  /** An escape that stands for a set of code points (also inside classes). At the char after '\'. */
  escapeSet(): Ranges | null {
    const c = this.peek();
    this.pos++;
    switch (c) {
      case 0x64:
        return table("digit");
      case 0x44:
        return table("digit")!.negate();
      case 0x73:
        return table("space");
      case 0x53:
        return table("space")!.negate();
      case 0x77:
        return table("word");
      case 0x57:
        return table("word")!.negate();
      case 0x70:
      case 0x50:
        return this.unicodeClass(c == 0x50);
      case 0x6e:
        return Ranges.of(0x0a, 0x0a);
      case 0x74:
        return Ranges.of(0x09, 0x09);
      case 0x72:
        return Ranges.of(0x0d, 0x0d);
      case 0x66:
        return Ranges.of(0x0c, 0x0c);
      case 0x76:
        return Ranges.of(0x0b, 0x0b);
      case 0x61:
        return Ranges.of(0x07, 0x07);
      case 0x78:
        return this.hexEscape(2);
      case 0x75:
        return this.hexEscape(4);
      case 0x55:
        return this.hexEscape(8);
    }
    if (c >= 0x30 && c <= 0x39) {
      this.fail("backreferences are not supported");
      return null;
    }
    // escapable meta characters and any non-alphanumeric ASCII punctuation
    const meta = "\\.+*?()|[]{}^$#&-~ ";
    if (c >= 0 && (meta.indexOf(String.fromCharCode(c)) >= 0 || (c < 0x80 && !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))))) {
      return Ranges.of(<u32>c, <u32>c);
    }
    this.pos--;
    this.fail("unrecognized escape sequence");
    return null;
  }

  hexEscape(digits: i32): Ranges | null {
    let v: i64 = 0;
    if (this.peek() == 0x7b) {
      this.pos++;
      let n = 0;
      while (!this.eof() && this.peek() != 0x7d) {
        const d = hexDigit(this.peek());
        if (d < 0 || n >= 8) {
          this.fail("hexadecimal literal is not a Unicode scalar value");
          return null;
        }
        v = (v << 4) | <i64>d;
        n++;
        this.pos++;
      }
      if (this.eof() || n == 0) {
        this.fail("hexadecimal literal empty");
        return null;
      }
      this.pos++;
    } else {
      for (let k = 0; k < digits; k++) {
        const d = hexDigit(this.peek());
        if (d < 0) {
          this.fail("invalid hexadecimal digit");
          return null;
        }
        v = (v << 4) | <i64>d;
        this.pos++;
      }
    }
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
      this.fail("hexadecimal literal is not a Unicode scalar value");
      return null;
    }
    return Ranges.of(<u32>v, <u32>v);
  }

  unicodeClass(negated: bool): Ranges | null {
    let name: string;
    if (this.peek() == 0x7b) {
      this.pos++;
      const start = this.pos;
      while (!this.eof() && this.peek() != 0x7d) this.pos++;
      if (this.eof()) {
        this.fail("unclosed Unicode class");
        return null;
      }
      name = this.text(start, this.pos);
      this.pos++;
      if (name.startsWith("^")) {
        negated = !negated;
        name = name.substring(1);
      }
    } else {
      if (this.eof()) {
        this.fail("unclosed Unicode class");
        return null;
      }
      name = String.fromCodePoint(this.peek());
      this.pos++;
    }
    const canonical = canonicalProperty(name);
    let set: Ranges | null = null;
    if (canonical != null) set = table(canonical);
    if (set == null) {
      this.fail("Unicode property not found (supported: L Lu Ll Lt Lm Lo M N Nd P S Z Cc Alphabetic Latin Greek Cyrillic Han Hiragana Katakana Arabic Hebrew)");
      return null;
    }
    return negated ? set.negate() : set;
  }

  text(from: i32, to: i32): string {
    let s = "";
    for (let k = from; k < to; k++) s += String.fromCodePoint(this.cps[k]);
    return s;
  }

  /** After '['. Returns the set (not case-folded). */
  parseClass(flags: Flags): Ranges | null {
    if (++this.depth > MAX_DEPTH) {
      this.fail("exceeds the nesting limit");
      return null;
    }
    let negated = false;
    if (this.peek() == 0x5e) {
      this.pos++;
      negated = true;
    }
    let acc = new Ranges();
    let first = true;
    // pending set operation: 0 union, 1 intersect, 2 difference, 3 symmetric difference
    let op = 0;
    let left: Ranges | null = null;
    while (true) {
      if (flags.x) this.skipExtended(flags);
      if (this.eof()) {
        this.fail("unclosed character class");
        return null;
      }
      const c = this.peek();
      if (c == 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      if ((c == 0x26 && this.peekAt(1) == 0x26) || (c == 0x2d && this.peekAt(1) == 0x2d) || (c == 0x7e && this.peekAt(1) == 0x7e)) {
        this.pos += 2;
        left = combine(left, flags.i ? acc.caseFolded() : acc, op);
        acc = new Ranges();
        op = c == 0x26 ? 1 : c == 0x2d ? 2 : 3;
        continue;
      }
      if (c == 0x5b) {
        if (this.peekAt(1) == 0x3a) {
          const posix = this.posixClass();
          if (this.error != null) return null;
          if (posix != null) {
            acc.addAll(posix);
            continue;
          }
        }
        this.pos++;
        const nested = this.parseClass(flags);
        if (nested == null) return null;
        acc.addAll(nested);
        continue;
      }
      const lo = this.classAtom();
      if (lo == null) return null;
      // a range a-z (a '-' before ']' is a literal)
      if (this.peek() == 0x2d && this.peekAt(1) != 0x5d && this.peekAt(1) != 0x2d && this.peekAt(1) >= 0) {
        if (lo.r.length != 2 || lo.r[0] != lo.r[1]) {
          this.fail("invalid character class range, the start must be <= the end");
          return null;
        }
        this.pos++;
        const hi = this.classAtom();
        if (hi == null) return null;
        if (hi.r.length != 2 || hi.r[0] != hi.r[1] || hi.r[0] < lo.r[0]) {
          this.fail("invalid character class range, the start must be <= the end");
          return null;
        }
        acc.add(lo.r[0], hi.r[0]);
      } else {
        acc.addAll(lo);
      }
    }
    let set = combine(left, flags.i ? acc.caseFolded() : acc, op);
    this.depth--;
    set = flags.i ? set.caseFolded() : set.canonical();
    return negated ? set.negate() : set;
  }

  /** One member of a class: a char or an escape. */
  classAtom(): Ranges | null {
    const c = this.peek();
    if (c == 0x5c) {
      this.pos++;
      if (this.eof()) {
        this.fail("incomplete escape sequence, reached end of pattern prematurely");
        return null;
      }
      return this.escapeSet();
    }
    this.pos++;
    return Ranges.of(<u32>c, <u32>c);
  }

  /** [:name:] or [:^name:]; null (pos unchanged) when it is not one. */
  posixClass(): Ranges | null {
    const start = this.pos;
    let k = this.pos + 2;
    let negated = false;
    if (k < this.cps.length && this.cps[k] == 0x5e) {
      negated = true;
      k++;
    }
    const nameStart = k;
    while (k < this.cps.length && this.cps[k] >= 0x61 && this.cps[k] <= 0x7a) k++;
    if (k + 1 >= this.cps.length || this.cps[k] != 0x3a || this.cps[k + 1] != 0x5d) return null;
    const name = this.text(nameStart, k);
    const set = posix(name);
    if (set == null) {
      this.pos = start;
      this.fail("invalid ASCII character class");
      return null;
    }
    this.pos = k + 2;
    return negated ? set.negate() : set;
  }
}

function combine(left: Ranges | null, right: Ranges, op: i32): Ranges {
  if (left == null) return right;
  if (op == 1) return left.intersect(right);
  if (op == 2) return left.minus(right);
  if (op == 3) {
    const both = left.intersect(right);
    const union = new Ranges();
    union.addAll(left);
    union.addAll(right);
    return union.canonical().minus(both);
  }
  const u = new Ranges();
  u.addAll(left);
  u.addAll(right);
  return u;
}

function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function posix(name: string): Ranges | null {
  const s = new Ranges();
  if (name == "alnum") {
    s.add(0x30, 0x39);
    s.add(0x41, 0x5a);
    s.add(0x61, 0x7a);
  } else if (name == "alpha") {
    s.add(0x41, 0x5a);
    s.add(0x61, 0x7a);
  } else if (name == "ascii") s.add(0, 0x7f);
  else if (name == "blank") {
    s.add(0x09, 0x09);
    s.add(0x20, 0x20);
  } else if (name == "cntrl") {
    s.add(0, 0x1f);
    s.add(0x7f, 0x7f);
  } else if (name == "digit") s.add(0x30, 0x39);
  else if (name == "graph") s.add(0x21, 0x7e);
  else if (name == "lower") s.add(0x61, 0x7a);
  else if (name == "print") s.add(0x20, 0x7e);
  else if (name == "punct") {
    s.add(0x21, 0x2f);
    s.add(0x3a, 0x40);
    s.add(0x5b, 0x60);
    s.add(0x7b, 0x7e);
  } else if (name == "space") {
    s.add(0x09, 0x0d);
    s.add(0x20, 0x20);
  } else if (name == "upper") s.add(0x41, 0x5a);
  else if (name == "word") {
    s.add(0x30, 0x39);
    s.add(0x41, 0x5a);
    s.add(0x5f, 0x5f);
    s.add(0x61, 0x7a);
  } else if (name == "xdigit") {
    s.add(0x30, 0x39);
    s.add(0x41, 0x46);
    s.add(0x61, 0x66);
  } else return null;
  return s;
}

function canonicalProperty(name: string): string | null {
  // loose matching as in Rust: ignore case, spaces, '_' and '-'
  let key = name.toLowerCase().replaceAll(" ", "").replaceAll("_", "").replaceAll("-", "");
  if (key.startsWith("generalcategory=")) key = key.substring(16);
  else if (key.startsWith("gc=")) key = key.substring(3);
  else if (key.startsWith("script=")) key = key.substring(7);
  else if (key.startsWith("sc=")) key = key.substring(3);
  if (key == "l" || key == "letter") return "L";
  if (key == "lu" || key == "uppercaseletter") return "Lu";
  if (key == "ll" || key == "lowercaseletter") return "Ll";
  if (key == "lt" || key == "titlecaseletter") return "Lt";
  if (key == "lm" || key == "modifierletter") return "Lm";
  if (key == "lo" || key == "otherletter") return "Lo";
  if (key == "m" || key == "mark" || key == "combiningmark") return "M";
  if (key == "n" || key == "number") return "N";
  if (key == "nd" || key == "decimalnumber" || key == "digit") return "Nd";
  if (key == "p" || key == "punctuation" || key == "punct") return "P";
  if (key == "s" || key == "symbol") return "S";
  if (key == "z" || key == "separator") return "Z";
  if (key == "cc" || key == "control" || key == "cntrl") return "Cc";
  if (key == "alphabetic" || key == "alpha") return "Alphabetic";
  if (key == "latin" || key == "latn") return "Latin";
  if (key == "greek" || key == "grek") return "Greek";
  if (key == "cyrillic" || key == "cyrl") return "Cyrillic";
  if (key == "han" || key == "hani") return "Han";
  if (key == "hiragana" || key == "hira") return "Hiragana";
  if (key == "katakana" || key == "kana") return "Katakana";
  if (key == "arabic" || key == "arab") return "Arabic";
  if (key == "hebrew" || key == "hebr") return "Hebrew";
  return null;
}

// ---- program ---------------------------------------------------------------------------

class Program {
  op: u8[] = [];
  a: i32[] = [];
  b: i32[] = [];
  sets: Ranges[] = [];
  tooBig: bool = false;

  emit(op: u8, a: i32, b: i32): i32 {
    if (this.op.length >= MAX_PROGRAM) {
      this.tooBig = true;
      return this.op.length;
    }
    this.op.push(op);
    this.a.push(a);
    this.b.push(b);
    return this.op.length - 1;
  }

  get pc(): i32 {
    return this.op.length;
  }

  compile(n: Node): void {
    if (this.tooBig) return;
    switch (n.kind) {
      case N_EMPTY:
        break;
      case N_CLASS: {
        this.sets.push(n.set!);
        this.emit(OP_CLASS, this.sets.length - 1, 0);
        break;
      }
      case N_ASSERT:
        this.emit(OP_ASSERT, n.assertion, 0);
        break;
      case N_CONCAT:
        for (let i = 0; i < n.children.length; i++) this.compile(n.children[i]);
        break;
      case N_ALT: {
        const jumps = new Array<i32>();
        for (let i = 0; i < n.children.length; i++) {
          if (i < n.children.length - 1) {
            const split = this.emit(OP_SPLIT, 0, 0);
            if (this.tooBig) return;
            this.a[split] = this.pc;
            this.compile(n.children[i]);
            jumps.push(this.emit(OP_JMP, 0, 0));
            if (this.tooBig) return;
            this.b[split] = this.pc;
          } else {
            this.compile(n.children[i]);
          }
        }
        for (let i = 0; i < jumps.length; i++) if (jumps[i] < this.a.length) this.a[jumps[i]] = this.pc;
        break;
      }
      case N_REPEAT: {
        const body = n.children[0];
        for (let i = 0; i < n.min && !this.tooBig; i++) this.compile(body);
        if (n.max < 0) {
          const split = this.emit(OP_SPLIT, 0, 0);
          if (this.tooBig) return;
          this.a[split] = this.pc;
          this.compile(body);
          this.emit(OP_JMP, split, 0);
          if (this.tooBig) return;
          this.b[split] = this.pc;
        } else {
          const splits = new Array<i32>();
          for (let i = n.min; i < n.max && !this.tooBig; i++) {
            const split = this.emit(OP_SPLIT, 0, 0);
            if (this.tooBig) return;
            this.a[split] = this.pc;
            splits.push(split);
            this.compile(body);
          }
          for (let i = 0; i < splits.length; i++) this.b[splits[i]] = this.pc;
        }
        break;
      }
    }
  }
}

/** A compiled pattern. */
export class Regex {
  private prog: Program;
  private anchoredStart: bool;
  /** The whole pattern is this literal: a byte search answers. */
  private literal: LiteralFinder | null;
  /** A literal every match contains: text without it cannot match. */
  private required: LiteralFinder | null;
  /** The lazy DFA, when the program's assertions are only \A and \z. */
  private dfa: Dfa | null;
  // thread lists of the Pike VM (sparse sets)
  private dense0: i32[];
  private dense1: i32[];
  private sparse0: i32[];
  private sparse1: i32[];
  private stack: i32[] = [];
  private cps: i32[] = [];

  constructor(prog: Program, ast: Node, anchoredStart: bool) {
    this.prog = prog;
    this.anchoredStart = anchoredStart;
    const whole = literalBytes(ast);
    this.literal = whole != null ? new LiteralFinder(whole) : null;
    const part = whole == null ? requiredLiteral(ast) : null;
    this.required = part != null ? new LiteralFinder(part) : null;
    this.dfa = whole == null && Dfa.supports(prog) ? new Dfa(prog, !anchoredStart) : null;
    const n = prog.op.length;
    this.dense0 = new Array<i32>(n);
    this.dense1 = new Array<i32>(n);
    this.sparse0 = new Array<i32>(n);
    this.sparse1 = new Array<i32>(n);
  }

  /** Number of instructions (the size the pattern compiled to). */
  get size(): i32 {
    return this.prog.op.length;
  }

  /** Whether the pattern matches anywhere in `text`. */
  isMatch(text: string): bool {
    const bytes = String.UTF8.encode(text, false);
    return this.isMatchAt(changetype<usize>(bytes), <usize>bytes.byteLength);
  }

  /** Whether the pattern matches anywhere in these UTF-8 bytes (invalid sequences read as U+FFFD). */
  isMatchBytes(bytes: Uint8Array): bool {
    return this.isMatchAt(bytes.dataStart, <usize>bytes.length);
  }

  private isMatchAt(ptr: usize, len: usize): bool {
    const literal = this.literal;
    if (literal != null) return literal.find(ptr, len) >= 0;
    const required = this.required;
    if (required != null && required.find(ptr, len) < 0) return false;
    const dfa = this.dfa;
    if (dfa != null) {
      const r = dfa.run(ptr, len);
      if (r >= 0) return r == 1;
      // too many states for this text: the Pike VM answers
    }
    return this.pike(ptr, len);
  }

  private pike(ptr: usize, len: usize): bool {
    const cps = this.cps;
    cps.length = 0;
    for (let i: usize = 0; i < len; ) {
      const d = decodeUtf8(ptr + i, len - i);
      cps.push(<i32>(d & 0x1fffff));
      i += <usize>(d >>> 21);
    }
    const n = cps.length;
    let cur = 0;
    let lenCur = 0;
    let lenNext = 0;
    for (let pos = 0; pos <= n; pos++) {
      if (!this.anchoredStart || pos == 0) {
        const r = this.add(cur, lenCur, 0, pos, cps);
        if (r < 0) return true;
        lenCur = r;
      }
      if (lenCur == 0) {
        if (this.anchoredStart) return false;
        continue;
      }
      if (pos == n) break;
      const c = cps[pos];
      const next = 1 - cur;
      lenNext = 0;
      const dense = cur == 0 ? this.dense0 : this.dense1;
      for (let k = 0; k < lenCur; k++) {
        const pc = dense[k];
        if (this.prog.op[pc] == OP_CLASS && this.prog.sets[this.prog.a[pc]].contains(<u32>c)) {
          const r = this.add(next, lenNext, pc + 1, pos + 1, cps);
          if (r < 0) return true;
          lenNext = r;
        }
      }
      cur = next;
      lenCur = lenNext;
    }
    return false;
  }

  /** Adds `pc` and its epsilon closure to list `which`; returns the new length, or -1 on reaching MATCH. */
  private add(which: i32, len: i32, start: i32, pos: i32, cps: i32[]): i32 {
    const dense = which == 0 ? this.dense0 : this.dense1;
    const sparse = which == 0 ? this.sparse0 : this.sparse1;
    const prog = this.prog;
    const stack = this.stack;
    stack.length = 0;
    stack.push(start);
    while (stack.length > 0) {
      const pc = stack.pop();
      const s = sparse[pc];
      if (s < len && dense[s] == pc) continue;
      sparse[pc] = len;
      dense[len] = pc;
      len++;
      if (pushJumpTargets(prog, pc, stack)) continue;
      switch (prog.op[pc]) {
        case OP_MATCH:
          return -1;
        case OP_ASSERT:
          if (assertion(prog.a[pc], pos, cps)) stack.push(pc + 1);
          break;
        default:
          break;
      }
    }
    return len;
  }
}

/** Pushes where a JMP or SPLIT goes (a SPLIT's first branch on top); false for other instructions. */
// @ts-ignore: decorator
@inline
function pushJumpTargets(prog: Program, pc: i32, stack: i32[]): bool {
  const op = prog.op[pc];
  if (op == OP_JMP) {
    stack.push(prog.a[pc]);
    return true;
  }
  if (op != OP_SPLIT) return false;
  stack.push(prog.b[pc]);
  stack.push(prog.a[pc]);
  return true;
}

/**
 * One UTF-8 code point at `ptr` (at most `left` bytes): the code point in the
 * low 21 bits, its length in bytes above them. An invalid or cut sequence
 * reads as U+FFFD of length 1, as String.UTF8.decode replaces it.
 */
// @ts-ignore: decorator
@inline
function decodeUtf8(ptr: usize, left: usize): u32 {
  const b0 = <u32>load<u8>(ptr);
  if (b0 < 0x80) return b0 | (1 << 21);
  const bad: u32 = 0xfffd | (1 << 21);
  if (b0 < 0xc2) return bad;
  if (b0 < 0xe0) {
    if (left < 2) return bad;
    const b1 = <u32>load<u8>(ptr + 1);
    if ((b1 & 0xc0) != 0x80) return bad;
    return (((b0 & 0x1f) << 6) | (b1 & 0x3f)) | (2 << 21);
  }
  if (b0 < 0xf0) {
    if (left < 3) return bad;
    const b1 = <u32>load<u8>(ptr + 1);
    const b2 = <u32>load<u8>(ptr + 2);
    if ((b1 & 0xc0) != 0x80 || (b2 & 0xc0) != 0x80) return bad;
    const c = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
    if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) return bad;
    return c | (3 << 21);
  }
  if (b0 < 0xf5) {
    if (left < 4) return bad;
    const b1 = <u32>load<u8>(ptr + 1);
    const b2 = <u32>load<u8>(ptr + 2);
    const b3 = <u32>load<u8>(ptr + 3);
    if ((b1 & 0xc0) != 0x80 || (b2 & 0xc0) != 0x80 || (b3 & 0xc0) != 0x80) return bad;
    const c = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
    if (c < 0x10000 || c > 0x10ffff) return bad;
    return c | (4 << 21);
  }
  return bad;
}

// ---- literals ------------------------------------------------------------------------

const MAX_LITERAL: i32 = 4096;

/** The one code point a class holds, or -1. */
function singleCodePoint(n: Node): i32 {
  if (n.kind != N_CLASS) return -1;
  const r = n.set!.r;
  return r.length == 2 && r[0] == r[1] ? <i32>r[0] : -1;
}

/** The text a node matches when it matches exactly one string, as code points; null otherwise. */
function literalCodePoints(n: Node, out: i32[]): bool {
  if (out.length > MAX_LITERAL) return false;
  switch (n.kind) {
    case N_EMPTY:
      return true;
    case N_CLASS: {
      const c = singleCodePoint(n);
      if (c < 0) return false;
      out.push(c);
      return true;
    }
    case N_CONCAT:
      for (let i = 0; i < n.children.length; i++) if (!literalCodePoints(n.children[i], out)) return false;
      return true;
    case N_REPEAT:
      if (n.max != n.min) return false;
      for (let i = 0; i < n.min; i++) if (!literalCodePoints(n.children[0], out)) return false;
      return true;
  }
  return false;
}

function utf8Of(cps: i32[]): Uint8Array {
  let s = "";
  for (let i = 0; i < cps.length; i++) s += String.fromCodePoint(cps[i]);
  return Uint8Array.wrap(String.UTF8.encode(s, false));
}

/** The UTF-8 bytes of the one string the pattern matches, or null. */
function literalBytes(n: Node): Uint8Array | null {
  const cps = new Array<i32>();
  if (!literalCodePoints(n, cps) || cps.length == 0) return null;
  return utf8Of(cps);
}

/** The longest run of literal items of a top-level concatenation (two bytes at least): every match contains it. */
function requiredLiteral(n: Node): Uint8Array | null {
  if (n.kind != N_CONCAT) return null;
  let best = new Array<i32>();
  let run = new Array<i32>();
  for (let i = 0; i <= n.children.length; i++) {
    const mark = run.length;
    if (i < n.children.length && literalCodePoints(n.children[i], run)) continue;
    run.length = mark;
    if (run.length > best.length) best = run;
    run = new Array<i32>();
  }
  if (best.length == 0) return null;
  const bytes = utf8Of(best);
  return bytes.length >= 2 ? bytes : null;
}

// ---- lazy DFA --------------------------------------------------------------------------

const MAX_DFA_STATES: i32 = 1024;
const UNKNOWN: i32 = -1;
/** A state whose set is empty: nothing can match any more (anchored programs only). */
const DEAD_FLAG: u8 = 2;
const MATCH_FLAG: u8 = 1;

/**
 * A DFA built as the text needs it, each state the set of Pike VM threads
 * it stands for; ASCII transitions are cached in a table, others computed
 * each time. Assertions: \A (true in the start state only) and \z (checked
 * once the text ends); programs with other assertions use the Pike VM.
 */
class Dfa {
  private prog: Program;
  private unanchored: bool;
  private sets: Array<i32[]> = [];
  private flags: u8[] = [];
  /** 1 when the state reaches MATCH through \z at the end of the text, 0 when not, -1 unknown. */
  private atEnd: i8[] = [];
  private ids: Map<string, i32> = new Map<string, i32>();
  private ascii: i32[] = [];
  private start: i32 = 0;
  private mark: i32[];
  private generation: i32 = 0;
  private stack: i32[] = [];
  private seeds: i32[] = [];

  static supports(prog: Program): bool {
    for (let pc = 0; pc < prog.op.length; pc++) {
      if (prog.op[pc] == OP_ASSERT && prog.a[pc] != AS_START_TEXT && prog.a[pc] != AS_END_TEXT) return false;
    }
    return true;
  }

  constructor(prog: Program, unanchored: bool) {
    this.prog = prog;
    this.unanchored = unanchored;
    this.mark = new Array<i32>(prog.op.length);
    this.seeds.push(0);
    this.start = this.intern(this.closure(this.seeds, true));
  }

  /** 1 match, 0 no match, -1 too many states (the caller falls back). */
  run(ptr: usize, len: usize): i32 {
    let s = this.start;
    if ((this.flags[s] & MATCH_FLAG) != 0) return 1;
    const ascii = this.ascii;
    for (let i: usize = 0; i < len; ) {
      const b = <i32>load<u8>(ptr + i);
      let next: i32;
      if (b < 0x80) {
        i++;
        next = unchecked(ascii[(s << 7) | b]);
        if (next == UNKNOWN) {
          next = this.step(s, b);
          if (next < 0) return -1;
          unchecked((ascii[(s << 7) | b] = next));
        }
      } else {
        const d = decodeUtf8(ptr + i, len - i);
        i += <usize>(d >>> 21);
        next = this.step(s, <i32>(d & 0x1fffff));
        if (next < 0) return -1;
      }
      s = next;
      const f = unchecked(this.flags[s]);
      if (f != 0) {
        if ((f & MATCH_FLAG) != 0) return 1;
        return 0; // dead
      }
    }
    return this.matchesAtEnd(s) ? 1 : 0;
  }

  /** The state after code point `c`, or -1 when the state limit is reached. */
  private step(s: i32, c: i32): i32 {
    if (this.sets.length >= MAX_DFA_STATES) return -1;
    const prog = this.prog;
    const set = this.sets[s];
    const seeds = this.seeds;
    seeds.length = 0;
    for (let k = 0; k < set.length; k++) {
      const pc = set[k];
      if (prog.op[pc] == OP_CLASS && prog.sets[prog.a[pc]].contains(<u32>c)) seeds.push(pc + 1);
    }
    if (this.unanchored) seeds.push(0);
    return this.intern(this.closure(seeds, false));
  }

  /** The threads reachable from `seeds` without reading: CLASS, MATCH and \z pcs, sorted. */
  private closure(seeds: i32[], atStart: bool): i32[] {
    const prog = this.prog;
    const mark = this.mark;
    const gen = ++this.generation;
    const stack = this.stack;
    const out = new Array<i32>();
    stack.length = 0;
    for (let i = seeds.length - 1; i >= 0; i--) stack.push(seeds[i]);
    while (stack.length > 0) {
      const pc = stack.pop();
      if (mark[pc] == gen) continue;
      mark[pc] = gen;
      if (pushJumpTargets(prog, pc, stack)) continue;
      switch (prog.op[pc]) {
        case OP_ASSERT:
          if (prog.a[pc] == AS_START_TEXT) {
            if (atStart) stack.push(pc + 1);
          } else {
            out.push(pc);
          }
          break;
        default:
          out.push(pc);
      }
    }
    out.sort((a, b) => a - b);
    return out;
  }

  private intern(set: i32[]): i32 {
    let key = "";
    for (let i = 0; i < set.length; i++) key += String.fromCharCode(set[i] & 0xffff) + String.fromCharCode(set[i] >>> 16);
    if (this.ids.has(key)) return this.ids.get(key);
    const id = this.sets.length;
    this.sets.push(set);
    let flags: u8 = set.length == 0 ? DEAD_FLAG : 0;
    for (let i = 0; i < set.length; i++) if (this.prog.op[set[i]] == OP_MATCH) flags = MATCH_FLAG;
    this.flags.push(flags);
    this.atEnd.push(-1);
    for (let i = 0; i < 128; i++) this.ascii.push(UNKNOWN);
    this.ids.set(key, id);
    return id;
  }

  /** Whether the text may end in state `s`: a \z thread leads to MATCH. */
  private matchesAtEnd(s: i32): bool {
    const known = this.atEnd[s];
    if (known >= 0) return known == 1;
    const prog = this.prog;
    const seeds = this.seeds;
    seeds.length = 0;
    const passed = new Set<i32>();
    const set = this.sets[s];
    for (let k = 0; k < set.length; k++) {
      if (prog.op[set[k]] != OP_ASSERT) continue;
      passed.add(set[k]);
      seeds.push(set[k] + 1);
    }
    let found = false;
    // \z holds from here on: follow the threads, passing every \z (once)
    while (!found && seeds.length > 0) {
      const reached = this.closure(seeds, false);
      seeds.length = 0;
      for (let k = 0; k < reached.length; k++) {
        const pc = reached[k];
        if (prog.op[pc] == OP_MATCH) {
          found = true;
        } else if (prog.op[pc] == OP_ASSERT && !passed.has(pc)) {
          passed.add(pc);
          seeds.push(pc + 1);
        }
      }
    }
    this.atEnd[s] = found ? 1 : 0;
    return found;
  }
}

function assertion(kind: i32, pos: i32, cps: i32[]): bool {
  const n = cps.length;
  switch (kind) {
    case AS_START_TEXT:
      return pos == 0;
    case AS_END_TEXT:
      return pos == n;
    case AS_START_LINE:
      return pos == 0 || cps[pos - 1] == 0x0a;
    case AS_END_LINE:
      return pos == n || cps[pos] == 0x0a;
    case AS_WORD:
    case AS_NOT_WORD: {
      const before = pos > 0 && isWordChar(cps[pos - 1]);
      const after = pos < n && isWordChar(cps[pos]);
      return (before != after) == (kind == AS_WORD);
    }
  }
  return false;
}

/** The outcome of compileRegex: `regex`, or null and `error` (Rust's "regex parse error" text). */
export class RegexCompileResult {
  constructor(
    public regex: Regex | null,
    public error: string,
  ) {}
}

/** Compiles a pattern (Rust `regex` syntax). */
export function compileRegex(pattern: string): RegexCompileResult {
  const p = new Parser(pattern);
  const flags = new Flags();
  const ast = p.parseAlt(flags);
  if (p.error == null && !p.eof()) {
    // a ')' without its '('
    p.fail("unopened group");
  }
  const err = p.error;
  if (err != null) return new RegexCompileResult(null, formatError(pattern, err));
  const prog = new Program();
  prog.compile(ast);
  prog.emit(OP_MATCH, 0, 0);
  if (prog.tooBig) return new RegexCompileResult(null, "Compiled regex exceeds size limit of " + MAX_PROGRAM.toString() + " instructions.");
  return new RegexCompileResult(new Regex(prog, ast, startsAnchored(ast)), "");
}

function startsAnchored(n: Node): bool {
  if (n.kind == N_ASSERT) return n.assertion == AS_START_TEXT;
  if (n.kind == N_CONCAT && n.children.length > 0) return startsAnchored(n.children[0]);
  return false;
}

function formatError(pattern: string, err: RegexError): string {
  // regex parse error:
  //     [a-
  //        ^
  // error: unclosed character class
  let caret = "";
  for (let i = 0; i < err.position; i++) caret += " ";
  return "regex parse error:\n    " + pattern + "\n    " + caret + "^\nerror: " + err.message;
}
