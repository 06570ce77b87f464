// Record schemas from dataflow.yaml (`types:` and `topics.<id>.schema.value`),
// checked on the values read from a source topic, as SDF deserializes them:
// a value that does not match is skipped and counted as failed, with the
// reason (sdf-dataflow.md §1.5).
//
//   primitives  bool, u8 u16 u32 u64, i8 i16 i32 i64 (integers in range), f32 f64 (numbers),
//               string, bytes (a list of 0–255)
//   object      properties: { name: { type, optional? } }; other fields are allowed (serde
//               ignores unknown fields); with apiVersion 0.5.0 a property's JSON name is its
//               snake_case form, with 0.6.0 the name as written; `deserialize: { rename }` wins
//   list        items: { type }
//   enum        oneOf: { Variant: { type: null | <type> } }: "Variant", or { "Variant": <value> }
//   named       any name defined under types:
// keyed-state and arrow-row describe states, not records: not checked.

export type Check = (value: unknown, at: string) => string | undefined;

export class SchemaError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

const INTEGERS: Record<string, [number, number]> = {
  u8: [0, 255],
  u16: [0, 65_535],
  u32: [0, 4_294_967_295],
  u64: [0, Number.MAX_SAFE_INTEGER],
  i8: [-128, 127],
  i16: [-32_768, 32_767],
  i32: [-2_147_483_648, 2_147_483_647],
  i64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function snake(name: string): string {
  return name.replace(/-/g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class SchemaCompiler {
  private readonly named = new Map<string, Check>();
  private readonly resolving = new Set<string>();

  constructor(
    private readonly types: Record<string, unknown>,
    private readonly apiVersion: string,
  ) {}

  /** The check of a type reference ({ type: ... } or an inline definition); `at` names it in YAML errors. */
  compile(def: unknown, at: string): Check {
    if (!isObj(def)) throw new SchemaError(at, `expected a type definition ({ type: ... }), got ${describe(def)}`);
    const type = def.type;
    if (typeof type !== 'string') throw new SchemaError(`${at}.type`, 'expected a type name');
    switch (type) {
      case 'bool':
        return (v, p) => (typeof v === 'boolean' ? undefined : `${p}: expected bool, got ${describe(v)}`);
      case 'f32':
      case 'f64':
        return (v, p) => (typeof v === 'number' ? undefined : `${p}: expected ${type}, got ${describe(v)}`);
      case 'string':
        return (v, p) => (typeof v === 'string' ? undefined : `${p}: expected string, got ${describe(v)}`);
      case 'bytes':
        return (v, p) =>
          Array.isArray(v) && v.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255) ? undefined : `${p}: expected bytes (a list of 0–255), got ${describe(v)}`;
      case 'object':
        return this.object(def, at);
      case 'list': {
        const items = this.compile(def.items, `${at}.items`);
        return (v, p) => {
          if (!Array.isArray(v)) return `${p}: expected a list, got ${describe(v)}`;
          for (let i = 0; i < v.length; i++) {
            const err = items(v[i], `${p}[${i}]`);
            if (err) return err;
          }
          return undefined;
        };
      }
      case 'enum':
        return this.enumeration(def, at);
      case 'keyed-state':
      case 'arrow-row':
        return () => undefined;
      default: {
        const range = INTEGERS[type];
        if (range) {
          const [lo, hi] = range;
          return (v, p) => (typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? undefined : `${p}: expected ${type}, got ${describe(v)}`);
        }
        return this.reference(type, `${at}.type`);
      }
    }
  }

  private reference(name: string, at: string): Check {
    const known = this.named.get(name);
    if (known) return known;
    if (!(name in this.types)) {
      throw new SchemaError(at, `unknown type "${name}" (primitives: bool, u8…u64, i8…i64, f32, f64, string, bytes; defined: ${Object.keys(this.types).join(', ') || 'none'})`);
    }
    if (this.resolving.has(name)) {
      // A recursive type: check lazily.
      return (v, p) => this.named.get(name)!(v, p);
    }
    this.resolving.add(name);
    const check = this.compile(this.types[name], `types.${name}`);
    this.resolving.delete(name);
    const named: Check = (v, p) => check(v, p);
    this.named.set(name, named);
    return named;
  }

  private object(def: Record<string, unknown>, at: string): Check {
    const properties = def.properties === undefined ? {} : def.properties;
    if (!isObj(properties)) throw new SchemaError(`${at}.properties`, 'expected a mapping of property: { type }');
    const fields: { json: string; optional: boolean; check: Check }[] = [];
    for (const [name, prop] of Object.entries(properties)) {
      const here = `${at}.properties.${name}`;
      if (!isObj(prop)) throw new SchemaError(here, 'expected { type: ... }');
      const rename = isObj(prop.deserialize) && typeof prop.deserialize.rename === 'string' ? prop.deserialize.rename : undefined;
      fields.push({ json: rename ?? (this.apiVersion === '0.5.0' ? snake(name) : name), optional: prop.optional === true, check: this.compile(prop, here) });
    }
    return (v, p) => {
      if (!isObj(v)) return `${p}: expected an object, got ${describe(v)}`;
      for (const field of fields) {
        const value = v[field.json];
        if (value === undefined || value === null) {
          if (field.optional) continue;
          return `${p}.${field.json}: missing`;
        }
        const err = field.check(value, `${p}.${field.json}`);
        if (err) return err;
      }
      return undefined;
    };
  }

  private enumeration(def: Record<string, unknown>, at: string): Check {
    const oneOf = def.oneOf;
    if (!isObj(oneOf)) throw new SchemaError(`${at}.oneOf`, 'expected a mapping of Variant: { type }');
    const variants = new Map<string, Check | null>();
    for (const [name, variant] of Object.entries(oneOf)) {
      const here = `${at}.oneOf.${name}`;
      if (!isObj(variant)) throw new SchemaError(here, 'expected { type: ... }');
      const rename = isObj(variant.deserialize) && typeof variant.deserialize.rename === 'string' ? variant.deserialize.rename : name;
      variants.set(rename, variant.type === null || variant.type === 'null' ? null : this.compile(variant, here));
    }
    const names = [...variants.keys()].join(', ');
    return (v, p) => {
      if (typeof v === 'string') return variants.has(v) && variants.get(v) === null ? undefined : `${p}: expected one of ${names}, got ${describe(v)}`;
      if (isObj(v) && Object.keys(v).length === 1) {
        const [name] = Object.keys(v);
        const check = variants.get(name);
        if (check === undefined) return `${p}: expected one of ${names}, got variant "${name}"`;
        if (check === null) return undefined;
        return check(v[name], `${p}.${name}`);
      }
      return `${p}: expected one of ${names}, got ${describe(v)}`;
    };
  }
}
