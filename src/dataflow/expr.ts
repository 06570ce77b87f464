// Inline expressions for dataflow YAML (SDF runs inline Rust there; we run a
// small, safe, deterministic expression language instead — no I/O, no
// clock, no globals). docs/dataflows.md "Expressions" is the reference.
//
//   $                 the record value (parsed JSON, or the string with the raw converter)
//   $.brand  $.a.b[0]  $["odd key"]   paths into it (a missing step gives null)
//   key  timestamp  partition  offset  topic   the record's key (string or null), event time (ms), origin
//   1  2.5  "text"  'text'  true  false  null  [1, $.a]  {name: $.a, "x y": 1}
//   !a  -a  a * b  a / b  a % b  a + b (numbers add, otherwise strings concatenate)  a - b
//   < <= > >= == != (deep equality for objects and arrays)  && ||  a ?? b  c ? a : b
//   functions: lower upper trim len number string int floor ceil round abs min max
//              concat contains startsWith endsWith split join exists coalesce date keys values
//
// `&&` and `||` return booleans (JavaScript truthiness of their operands).

export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly source: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position + 1} of \`${source}\``);
  }
}

/** What an expression can read besides the value. */
export interface ExprContext {
  value: unknown;
  key: string | null;
  timestamp: number;
  topic?: string;
  partition?: number;
  offset?: number;
}

export type Compiled = (ctx: ExprContext) => unknown;

type Token =
  | { t: 'num'; v: number; p: number }
  | { t: 'str'; v: string; p: number }
  | { t: 'id'; v: string; p: number }
  | { t: 'op'; v: string; p: number }
  | { t: 'end'; p: number };

const OPERATORS = ['??', '&&', '||', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '%', '!', '?', ':', '.', ',', '(', ')', '[', ']', '{', '}', '$'];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: Number(m[0]), p: i });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new ExpressionError('unterminated string', src, i);
      out.push({ t: 'str', v: s, p: i });
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0], p: i });
      i += m[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExpressionError(`unexpected character "${c}"`, src, i);
    out.push({ t: 'op', v: op, p: i });
    i += op.length;
  }
  out.push({ t: 'end', p: src.length });
  return out;
}

function truthy(v: unknown): boolean {
  return Boolean(v);
}

function member(obj: unknown, prop: unknown): unknown {
  if (obj === null || obj === undefined) return null;
  if (Array.isArray(obj)) {
    if (typeof prop === 'number') return obj[prop < 0 ? obj.length + prop : prop] ?? null;
    if (prop === 'length') return obj.length;
    return null;
  }
  if (typeof obj === 'string') {
    if (prop === 'length') return obj.length;
    if (typeof prop === 'number') return obj[prop] ?? null;
    return null;
  }
  if (typeof obj === 'object') {
    const key = String(prop);
    return Object.prototype.hasOwnProperty.call(obj, key) ? ((obj as Record<string, unknown>)[key] ?? null) : null;
  }
  return null;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  return ak.length === bk.length && ak.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return NaN;
}

function compare(op: string, a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return false;
  const x = typeof a === 'string' && typeof b === 'string' ? a : num(a);
  const y = typeof a === 'string' && typeof b === 'string' ? b : num(b);
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}

const FUNCTIONS: Record<string, { arity: [number, number]; fn: (...args: unknown[]) => unknown }> = {
  lower: { arity: [1, 1], fn: (s) => (s === null ? null : String(s).toLowerCase()) },
  upper: { arity: [1, 1], fn: (s) => (s === null ? null : String(s).toUpperCase()) },
  trim: { arity: [1, 1], fn: (s) => (s === null ? null : String(s).trim()) },
  len: { arity: [1, 1], fn: (v) => (typeof v === 'string' || Array.isArray(v) ? v.length : v !== null && typeof v === 'object' ? Object.keys(v).length : null) },
  number: { arity: [1, 1], fn: (v) => (v === null ? null : Number.isNaN(num(v)) ? null : num(v)) },
  string: { arity: [1, 1], fn: (v) => (v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v)) },
  int: { arity: [1, 1], fn: (v) => (Number.isNaN(num(v)) || v === null ? null : Math.trunc(num(v))) },
  floor: { arity: [1, 2], fn: (v, step) => (v === null ? null : step === undefined ? Math.floor(num(v)) : Math.floor(num(v) / num(step)) * num(step)) },
  ceil: { arity: [1, 1], fn: (v) => (v === null ? null : Math.ceil(num(v))) },
  round: {
    arity: [1, 2],
    fn: (v, digits) => {
      if (v === null) return null;
      const f = 10 ** (digits === undefined ? 0 : num(digits));
      return Math.round(num(v) * f) / f;
    },
  },
  abs: { arity: [1, 1], fn: (v) => (v === null ? null : Math.abs(num(v))) },
  min: { arity: [1, 64], fn: (...a) => Math.min(...a.filter((x) => x !== null).map(num)) },
  max: { arity: [1, 64], fn: (...a) => Math.max(...a.filter((x) => x !== null).map(num)) },
  concat: { arity: [1, 64], fn: (...a) => (a.every(Array.isArray) ? (a as unknown[][]).flat() : a.map((x) => (x === null ? '' : String(x))).join('')) },
  contains: { arity: [2, 2], fn: (h, n) => (Array.isArray(h) ? h.some((x) => deepEqual(x, n)) : typeof h === 'string' ? h.includes(String(n)) : false) },
  startsWith: { arity: [2, 2], fn: (s, p) => typeof s === 'string' && s.startsWith(String(p)) },
  endsWith: { arity: [2, 2], fn: (s, p) => typeof s === 'string' && s.endsWith(String(p)) },
  split: { arity: [2, 2], fn: (s, sep) => (typeof s === 'string' ? s.split(String(sep)) : null) },
  join: { arity: [1, 2], fn: (a, sep) => (Array.isArray(a) ? a.join(sep === undefined ? ',' : String(sep)) : null) },
  exists: { arity: [1, 1], fn: (v) => v !== null && v !== undefined },
  coalesce: { arity: [1, 64], fn: (...a) => a.find((x) => x !== null && x !== undefined) ?? null },
  /** ISO-8601 text or epoch ms → epoch ms (null when unparsable). */
  date: {
    arity: [1, 1],
    fn: (v) => {
      if (typeof v === 'number') return v;
      if (typeof v !== 'string') return null;
      const ms = Date.parse(v);
      return Number.isNaN(ms) ? null : ms;
    },
  },
  keys: { arity: [1, 1], fn: (o) => (o !== null && typeof o === 'object' && !Array.isArray(o) ? Object.keys(o) : null) },
  values: { arity: [1, 1], fn: (o) => (o !== null && typeof o === 'object' && !Array.isArray(o) ? Object.values(o) : null) },
};

const VARIABLES: Record<string, Compiled> = {
  key: (c) => c.key,
  timestamp: (c) => c.timestamp,
  topic: (c) => c.topic ?? null,
  partition: (c) => c.partition ?? null,
  offset: (c) => c.offset ?? null,
  true: () => true,
  false: () => false,
  null: () => null,
};

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly tokens: Token[],
  ) {}

  private peek(): Token {
    return this.tokens[this.i];
  }

  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }

  private expect(v: string): void {
    if (!this.isOp(v)) this.fail(`expected "${v}"`);
    this.i++;
  }

  private fail(message: string): never {
    const t = this.peek();
    throw new ExpressionError(t.t === 'end' ? `${message} (the expression ended)` : message, this.src, t.p);
  }

  parse(): Compiled {
    if (this.peek().t === 'end') this.fail('empty expression');
    const e = this.ternary();
    if (this.peek().t !== 'end') this.fail('unexpected token');
    return e;
  }

  private ternary(): Compiled {
    const cond = this.binary(0);
    if (!this.isOp('?')) return cond;
    this.i++;
    const a = this.ternary();
    this.expect(':');
    const b = this.ternary();
    return (c) => (truthy(cond(c)) ? a(c) : b(c));
  }

  private static readonly LEVELS: string[][] = [['??'], ['||'], ['&&'], ['==', '!='], ['<', '<=', '>', '>='], ['+', '-'], ['*', '/', '%']];

  private binary(level: number): Compiled {
    if (level === Parser.LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op' || !Parser.LEVELS[level].includes(t.v)) return left;
      this.i++;
      const right = this.binary(level + 1);
      const l = left;
      switch (t.v) {
        case '??':
          left = (c) => l(c) ?? right(c);
          break;
        case '||':
          left = (c) => truthy(l(c)) || truthy(right(c));
          break;
        case '&&':
          left = (c) => truthy(l(c)) && truthy(right(c));
          break;
        case '==':
          left = (c) => deepEqual(l(c), right(c));
          break;
        case '!=':
          left = (c) => !deepEqual(l(c), right(c));
          break;
        case '+':
          left = (c) => {
            const a = l(c);
            const b = right(c);
            if (typeof a === 'number' && typeof b === 'number') return a + b;
            if (typeof a === 'string' || typeof b === 'string') return `${a ?? ''}${b ?? ''}`;
            return a === null || b === null ? null : num(a) + num(b);
          };
          break;
        case '-':
        case '*':
        case '/':
        case '%': {
          const op = t.v;
          left = (c) => {
            const a = l(c);
            const b = right(c);
            if (a === null || b === null || a === undefined || b === undefined) return null;
            const x = num(a);
            const y = num(b);
            return op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
          };
          break;
        }
        default: {
          const op = t.v;
          left = (c) => compare(op, l(c), right(c));
        }
      }
    }
  }

  private unary(): Compiled {
    if (this.isOp('!')) {
      this.i++;
      const e = this.unary();
      return (c) => !truthy(e(c));
    }
    if (this.isOp('-')) {
      this.i++;
      const e = this.unary();
      return (c) => {
        const v = e(c);
        return v === null ? null : -num(v);
      };
    }
    return this.postfix(this.primary());
  }

  private postfix(base: Compiled): Compiled {
    let e = base;
    for (;;) {
      if (this.isOp('.')) {
        this.i++;
        const t = this.peek();
        if (t.t !== 'id') this.fail('expected a field name after "."');
        this.i++;
        const obj = e;
        const name = t.v;
        e = (c) => member(obj(c), name);
      } else if (this.isOp('[')) {
        this.i++;
        const idx = this.ternary();
        this.expect(']');
        const obj = e;
        e = (c) => member(obj(c), idx(c));
      } else return e;
    }
  }

  private primary(): Compiled {
    const t = this.peek();
    if (t.t === 'num' || t.t === 'str') {
      this.i++;
      const v = t.v;
      return () => v;
    }
    if (t.t === 'op' && t.v === '$') {
      this.i++;
      return (c) => c.value ?? null;
    }
    if (t.t === 'op' && t.v === '(') {
      this.i++;
      const e = this.ternary();
      this.expect(')');
      return e;
    }
    if (t.t === 'op' && t.v === '[') {
      this.i++;
      const items: Compiled[] = [];
      while (!this.isOp(']')) {
        items.push(this.ternary());
        if (!this.isOp(']')) this.expect(',');
      }
      this.i++;
      return (c) => items.map((item) => item(c) ?? null);
    }
    if (t.t === 'op' && t.v === '{') {
      this.i++;
      const fields: [string, Compiled][] = [];
      while (!this.isOp('}')) {
        const k = this.peek();
        if (k.t !== 'id' && k.t !== 'str') this.fail('expected a field name');
        this.i++;
        const name = String(k.v);
        this.expect(':');
        fields.push([name, this.ternary()]);
        if (!this.isOp('}')) this.expect(',');
      }
      this.i++;
      return (c) => {
        const out: Record<string, unknown> = {};
        for (const [name, f] of fields) out[name] = f(c) ?? null;
        return out;
      };
    }
    if (t.t === 'id') {
      this.i++;
      if (this.isOp('(')) {
        const f = FUNCTIONS[t.v];
        if (!f) {
          this.i--;
          this.fail(`unknown function "${t.v}" (known: ${Object.keys(FUNCTIONS).join(', ')})`);
        }
        this.i++;
        const args: Compiled[] = [];
        while (!this.isOp(')')) {
          args.push(this.ternary());
          if (!this.isOp(')')) this.expect(',');
        }
        this.i++;
        if (args.length < f.arity[0] || args.length > f.arity[1]) {
          throw new ExpressionError(`${t.v}() takes ${f.arity[0] === f.arity[1] ? f.arity[0] : `${f.arity[0]} to ${f.arity[1]}`} arguments, got ${args.length}`, this.src, t.p);
        }
        const fn = f.fn;
        return (c) => fn(...args.map((a) => a(c) ?? null));
      }
      const variable = VARIABLES[t.v];
      if (!variable) {
        this.i--;
        this.fail(`unknown name "${t.v}" (paths start with $, e.g. $.${t.v}; names: ${Object.keys(VARIABLES).join(', ')})`);
      }
      return variable;
    }
    this.fail('expected a value');
  }
}

/** Compiles an expression; throws ExpressionError naming the position. */
export function compileExpression(source: string): Compiled {
  return new Parser(source, tokenize(source)).parse();
}

/** An expression as an operator function of (value, meta): one context object per function, refilled per call (calls are synchronous, never nested). */
export function expressionFn(source: string): (value: unknown, meta: Omit<ExprContext, 'value'>) => unknown {
  const compiled = compileExpression(source);
  const ctx: ExprContext = { value: null, key: null, timestamp: 0, topic: '', partition: 0, offset: 0 };
  return (value, meta) => {
    ctx.value = value;
    ctx.key = meta.key;
    ctx.timestamp = meta.timestamp;
    ctx.topic = meta.topic;
    ctx.partition = meta.partition;
    ctx.offset = meta.offset;
    return compiled(ctx);
  };
}
