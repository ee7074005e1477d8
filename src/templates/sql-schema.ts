// The SQL side of a template's props schema: what mailroom.enqueue() in SQL checks
// (mailroom.check_props(), migration 0010), derived at `mailroom migrate` from the
// same zod schema TypeScript parses with, so both paths accept and refuse the same
// props and name the same field.
//
// z.toJSONSchema() alone is not enough: it silently drops what has no JSON Schema
// form (a .refine(), a .transform(), the output side of a .pipe(), a .trim() before
// .min()), so a check derived only from it would be weaker than zod's without
// saying so. The zod schema is walked instead, check by check and in zod's order,
// and the JSON Schema is kept as a gate (a schema it throws on is refused). What
// the SQL side cannot check exactly is refused, naming the template, the prop path
// and the keyword, before anything of that template is written.
//
// The stored form (mailroom.template.props_schema) is a small JSON Schema dialect:
//   { "type": ["string", "null"], "enum": [...],
//     "checks": [["trim"], ["minLength", 1], ["pattern", "<PostgreSQL ARE>", "<label>"], ...],
//     "properties": [["key", node], ...],   -- an array: jsonb keeps no key order, zod reports in key order
//     "required": ["key", ...], "additionalProperties": false, "stripUnknown": true,
//     "items": node }
// Lengths count characters (code points): this zod's min/max/length checks do
// (util.codePointLength), and so does PostgreSQL's length(). Patterns are translated to PostgreSQL's ARE only from a subset whose meaning is
// the same in both engines (see translatePattern()).
import { z } from 'zod';

export type SqlCheck = [kind: string, value?: unknown, label?: string];
export interface SqlNode {
  type?: string[];
  enum?: unknown[];
  checks?: SqlCheck[];
  properties?: [string, SqlNode][];
  required?: string[];
  additionalProperties?: false;
  /** zod's default object: unknown keys pass and are dropped from what is stored (mailroom.shape_props). */
  stripUnknown?: true;
  items?: SqlNode;
}

/** A template whose props schema the SQL side cannot check as zod does. */
export class UnexpressibleSchemaError extends Error {
  constructor(readonly template: string, readonly path: string, readonly keyword: string, detail = '') {
    super(`template "${template}": ${path} uses "${keyword}"${detail ? ` ${detail}` : ''}, which the SQL check cannot express`);
    this.name = 'UnexpressibleSchemaError';
  }
}

class Refusal extends Error {
  constructor(readonly keyword: string, readonly detail = '') {
    super(keyword);
  }
}

/** What JavaScript's trim() and \s treat as white space (WhiteSpace and LineTerminator). */
export const JS_WHITE_SPACE = '\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';
const JS_WHITE_SPACE_RANGES: [number, number][] = [[0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff]];
/** In SQL, each character outside the BMP is replaced by two of this one before lengths and patterns (see the migration). */
const ASTRAL_STAND_IN = 0xe000;

/** Formats whose zod check is its pattern and nothing else. */
const PATTERN_ONLY_FORMATS = new Set(['regex', 'email', 'datetime', 'date', 'time', 'uuid', 'guid', 'starts_with', 'ends_with', 'includes', 'lowercase', 'uppercase']);
/** JSON Schema keywords the SQL check knows; another one anywhere in z.toJSONSchema()'s output is refused. */
const KNOWN_KEYWORDS = new Set([
  '$schema', 'type', 'properties', 'required', 'additionalProperties', 'minLength', 'maxLength', 'pattern', 'format', 'enum', 'const',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'items', 'minItems', 'maxItems', 'anyOf',
  'description', 'title', 'examples',
]);

/** The SQL check of a template's props schema; throws UnexpressibleSchemaError for what SQL cannot check. */
export function sqlPropsSchema(template: string, schema: z.ZodType): SqlNode {
  let json: unknown;
  try {
    json = z.toJSONSchema(schema, { io: 'input' });
  } catch (error) {
    throw new UnexpressibleSchemaError(template, 'props', 'toJSONSchema', `(z.toJSONSchema() fails: ${(error as Error).message})`);
  }
  const unknown = unknownKeyword(json, 'props');
  if (unknown) throw new UnexpressibleSchemaError(template, unknown.path, unknown.keyword);
  return walk(template, schema, 'props');
}

function unknownKeyword(node: unknown, path: string): { path: string; keyword: string } | undefined {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
  for (const [keyword, value] of Object.entries(node)) {
    if (!KNOWN_KEYWORDS.has(keyword)) return { path, keyword };
    if (keyword === 'properties' && value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        const found = unknownKeyword(inner, `${path}.${key}`);
        if (found) return found;
      }
    } else if (keyword === 'items') {
      const found = unknownKeyword(value, `${path}[]`);
      if (found) return found;
    } else if (keyword === 'anyOf' && Array.isArray(value)) {
      for (const inner of value) {
        const found = unknownKeyword(inner, path);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function walk(template: string, schema: z.ZodType, path: string): SqlNode {
  try {
    return node(template, schema, path);
  } catch (error) {
    if (error instanceof Refusal) throw new UnexpressibleSchemaError(template, path, error.keyword, error.detail);
    throw error;
  }
}

type Def = Record<string, any> & { type: string; checks?: { _zod: { def: Record<string, any> } }[] };

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The checks of a schema in zod's order: a format schema's own check (z.email(), z.int()) first. */
function checksOf(def: Def): Record<string, any>[] {
  return [...(typeof def.check === 'string' ? [def] : []), ...(def.checks ?? []).map((c) => c._zod.def)];
}

function node(template: string, schema: z.ZodType, path: string): SqlNode {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
      // Optional only as an object key (handled there); in JSON nothing else can be undefined.
      return node(template, def.innerType, path);
    case 'nullable': {
      const inner = node(template, def.innerType, path);
      if (inner.enum) return { ...inner, enum: [...inner.enum, null] };
      return { ...inner, ...(inner.type ? { type: [...inner.type, 'null'] } : {}) };
    }
    case 'string':
      return { type: ['string'], checks: checksOf(def).map(stringCheck) };
    case 'number': {
      const checks = checksOf(def).map(numberCheck).flat();
      const integer = checks.some(([kind]) => kind === 'integer');
      return { type: [integer ? 'integer' : 'number'], checks: checks.filter(([kind]) => kind !== 'integer') };
    }
    case 'boolean':
    case 'null':
      if (def.checks?.length) throw new Refusal(checksOf(def)[0]!.check);
      return { type: [def.type] };
    case 'enum':
      return { enum: Object.values(def.entries as Record<string, unknown>).map(jsonValue) };
    case 'literal':
      return { enum: (def.values as unknown[]).map(jsonValue) };
    case 'any':
    case 'unknown':
      return {};
    case 'array': {
      const items = walk(template, def.element, `${path}[]`);
      return { type: ['array'], items, checks: checksOf(def).map(arrayCheck) };
    }
    case 'object':
      return objectNode(template, def, path);
    case 'pipe': {
      const inner = defOf(def.in);
      const outer = defOf(def.out);
      if (inner.type === 'transform' || outer.type === 'transform') throw new Refusal('transform', '(a .transform() has no JSON Schema form)');
      if (inner.type !== 'string' || outer.type !== 'string') throw new Refusal('pipe', `(from ${inner.type} to ${outer.type})`);
      // zod checks the output side on what the input side passed on: the same string here.
      const first = node(template, def.in, path);
      const second = node(template, def.out, path);
      return { type: ['string'], checks: [...(first.checks ?? []), ...(second.checks ?? [])] };
    }
    case 'transform':
      throw new Refusal('transform', '(a .transform() has no JSON Schema form)');
    case 'default':
    case 'prefault':
      throw new Refusal(def.type, '(TypeScript would store the default, SQL the missing key)');
    default:
      throw new Refusal(def.type);
  }
}

function objectNode(template: string, def: Def, path: string): SqlNode {
  if (def.checks?.length) throw refusalOf(checksOf(def)[0]!);
  const shape = def.shape as Record<string, z.ZodType>;
  const properties: [string, SqlNode][] = [];
  const required: string[] = [];
  for (const [key, value] of Object.entries(shape)) {
    properties.push([key, walk(template, value, `${path}.${key}`)]);
    if ((value as unknown as { _zod: { optin?: string } })._zod.optin !== 'optional') required.push(key);
  }
  const result: SqlNode = { type: ['object'], properties, required };
  const catchall = def.catchall ? defOf(def.catchall).type : undefined;
  // No catchall: zod strips unknown keys, and so does mailroom.shape_props() before SQL stores them.
  // z.looseObject() (unknown) keeps them. z.strictObject() (never) refuses them.
  if (catchall === undefined) result.stripUnknown = true;
  else if (catchall === 'never') result.additionalProperties = false;
  else if (catchall !== undefined && catchall !== 'unknown' && catchall !== 'any') throw new Refusal('additionalProperties', `(a catchall of ${catchall})`);
  return result;
}

function refusalOf(check: Record<string, any>): Refusal {
  if (check.check === 'custom') return new Refusal('refine', '(a .refine() or .superRefine() check has no JSON Schema form)');
  if (check.check === 'overwrite') return new Refusal('overwrite', '(a value rewritten before its checks, other than .trim())');
  if (check.check === 'string_format') return new Refusal('format', `"${check.format}"`);
  return new Refusal(String(check.check));
}

function stringCheck(check: Record<string, any>): SqlCheck {
  switch (check.check) {
    case 'min_length':
      return ['minLength', check.minimum];
    case 'max_length':
      return ['maxLength', check.maximum];
    case 'length_equals':
      return ['length', check.length];
    case 'overwrite':
      if (isTrim(check.tx)) return ['trim'];
      throw refusalOf(check);
    case 'string_format': {
      if (!PATTERN_ONLY_FORMATS.has(check.format) || !(check.pattern instanceof RegExp)) throw refusalOf(check);
      const pattern = check.pattern as RegExp;
      const keyword = check.format === 'regex' ? 'pattern' : `format ${check.format}`;
      if (pattern.flags) throw new Refusal(keyword, `with the flags /${pattern.flags}`);
      try {
        return ['pattern', translatePattern(pattern.source), check.format === 'regex' ? 'pattern' : check.format];
      } catch (error) {
        if (error instanceof Refusal) throw new Refusal(keyword, `with ${error.keyword}`);
        throw error;
      }
    }
    default:
      throw refusalOf(check);
  }
}

function numberCheck(check: Record<string, any>): SqlCheck[] {
  switch (check.check) {
    case 'number_format': {
      const ranges: Record<string, [number, number]> = {
        safeint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
        int32: [-2147483648, 2147483647],
        uint32: [0, 4294967295],
      };
      const range = ranges[check.format as string];
      if (!range) throw new Refusal('format', `"${check.format}"`);
      return [['integer'], ['minimum', range[0]], ['maximum', range[1]]];
    }
    case 'greater_than':
      return [[check.inclusive ? 'minimum' : 'exclusiveMinimum', check.value]];
    case 'less_than':
      return [[check.inclusive ? 'maximum' : 'exclusiveMaximum', check.value]];
    case 'multiple_of':
      return [['multipleOf', check.value]];
    default:
      throw refusalOf(check);
  }
}

function arrayCheck(check: Record<string, any>): SqlCheck {
  switch (check.check) {
    case 'min_length':
      return ['minItems', check.minimum];
    case 'max_length':
      return ['maxItems', check.maximum];
    case 'length_equals':
      return ['itemCount', check.length];
    default:
      throw refusalOf(check);
  }
}

function jsonValue(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw new Refusal('enum', `with the value ${String(value)}, which JSON cannot hold`);
}

/** zod's .trim() is an anonymous overwrite: recognised by what it does. */
function isTrim(tx: unknown): boolean {
  if (typeof tx !== 'function') return false;
  try {
    const probes = [`${JS_WHITE_SPACE}a B${JS_WHITE_SPACE}`, 'Ab', ' x\u0085 ', '\u200bq\u200b'];
    return probes.every((probe) => tx(probe) === probe.trim());
  } catch {
    return false;
  }
}

// ---- JavaScript RegExp (no flags) → PostgreSQL ARE ---------------------------
//
// Only what means the same in both: anchors (no m flag: start and end of the
// string), literal characters and escapes, classes with ranges and negation,
// quantifiers (greedy or lazy: whether a string matches does not depend on it),
// (?: ) and capturing groups (written as (?: )), lookaheads, alternation. \d and
// \w become explicit ASCII classes, \s JavaScript's own white space, `.` "anything
// but a line terminator", so PostgreSQL's locale has no say. Refused: lookbehind,
// backreferences, named groups, \b, \p{...}, \c, flags. Bounds above 255
// (PostgreSQL's limit) are split. Characters outside the BMP are two UTF-16 units
// in JavaScript and one character in PostgreSQL: SQL replaces each by two U+E000
// before matching, so a class must treat U+E000 as it treats every surrogate.

const DIGIT: [number, number][] = [[0x30, 0x39]];
const WORD: [number, number][] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
const NOT_LINE_TERMINATOR = `[^${[0x0a, 0x0d, 0x2028, 0x2029].map(charEscape).join('')}]`;

export function translatePattern(source: string): string {
  const parser = new PatternParser(source);
  const out = parser.alternation();
  if (parser.pos < source.length) throw new Refusal(`an unmatched "${source[parser.pos]}"`);
  return out;
}

function charEscape(code: number): string {
  if ((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) return String.fromCharCode(code);
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

function checkLiteral(code: number): number {
  if ((code >= 0xd800 && code <= 0xdfff) || code === ASTRAL_STAND_IN) throw new Refusal('a surrogate or U+E000 character');
  if (code === 0) throw new Refusal('a NUL character');
  return code;
}

class PatternParser {
  pos = 0;
  constructor(readonly src: string) {}

  peek(): string | undefined {
    return this.src[this.pos];
  }

  alternation(): string {
    const branches = [this.sequence()];
    while (this.peek() === '|') {
      this.pos++;
      branches.push(this.sequence());
    }
    return branches.join('|');
  }

  sequence(): string {
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') return out;
      const [atom, quantifiable] = this.atom();
      out += quantifiable ? this.quantified(atom) : this.noQuantifier(atom);
    }
  }

  noQuantifier(atom: string): string {
    const c = this.peek();
    if (c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.pos)))) throw new Refusal('a quantifier on an anchor or lookahead');
    return atom;
  }

  quantified(atom: string): string {
    const c = this.peek();
    let min: number;
    let max: number | undefined;
    if (c === '*') [min, max] = [0, undefined];
    else if (c === '+') [min, max] = [1, undefined];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
      if (!m) throw new Refusal('a "{" that is not a quantifier');
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
      this.pos += m[0].length - 1;
    } else return atom;
    this.pos++;
    if (this.peek() === '?') this.pos++; // lazy: the same strings match
    if (c === '*' || c === '+' || c === '?') return `${atom}${c}`;
    return repeat(atom, min, max);
  }

  atom(): [string, boolean] {
    const c = this.src[this.pos++]!;
    switch (c) {
      case '^':
      case '$':
        return [c, false];
      case '.':
        return [NOT_LINE_TERMINATOR, true];
      case '(': {
        if (this.src.startsWith('?:', this.pos)) {
          this.pos += 2;
          return [`(?:${this.group()})`, true];
        }
        if (this.src.startsWith('?=', this.pos) || this.src.startsWith('?!', this.pos)) {
          const kind = this.src.slice(this.pos, this.pos + 2);
          this.pos += 2;
          return [`(${kind}${this.group()})`, false];
        }
        if (this.src.startsWith('?<=', this.pos) || this.src.startsWith('?<!', this.pos)) throw new Refusal('a lookbehind');
        if (this.src.startsWith('?<', this.pos)) throw new Refusal('a named group');
        if (this.peek() === '?') throw new Refusal('a "(?" group');
        return [`(?:${this.group()})`, true];
      }
      case '[':
        return [this.characterClass(), true];
      case '\\':
        return [this.escape(), true];
      case '*':
      case '+':
      case '?':
        throw new Refusal('a quantifier with nothing to repeat');
      case '{':
        throw new Refusal('a "{" that is not a quantifier');
      default:
        return [charEscape(checkLiteral(c.charCodeAt(0))), true];
    }
  }

  group(): string {
    const inner = this.alternation();
    if (this.peek() !== ')') throw new Refusal('an unclosed group');
    this.pos++;
    return inner;
  }

  /** An escape outside a class. */
  escape(): string {
    const c = this.src[this.pos];
    if (c === undefined) throw new Refusal('a trailing backslash');
    switch (c) {
      case 'd': this.pos++; return classText(DIGIT, false);
      case 'D': this.pos++; return classText(DIGIT, true);
      case 'w': this.pos++; return classText(WORD, false);
      case 'W': this.pos++; return classText(WORD, true);
      case 's': this.pos++; return classText(JS_WHITE_SPACE_RANGES, false);
      case 'S': this.pos++; return classText(JS_WHITE_SPACE_RANGES, true);
      case 'b':
      case 'B':
        throw new Refusal('a word boundary (\\b)');
      default:
        return charEscape(checkLiteral(this.characterEscape()));
    }
  }

  /** A character escape (after the backslash), in or outside a class: its code unit. */
  characterEscape(): number {
    const c = this.src[this.pos++]!;
    const simple: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, f: 0x0c, v: 0x0b };
    if (c in simple) return simple[c]!;
    if (c === 'x' || c === 'u') {
      const digits = c === 'x' ? 2 : 4;
      const hex = this.src.slice(this.pos, this.pos + digits);
      if (!new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(hex)) throw new Refusal(`a "\\${c}" escape without its hex digits`);
      this.pos += digits;
      return parseInt(hex, 16);
    }
    if (c === '0') throw new Refusal('a NUL character');
    if (/[1-9]/.test(c)) throw new Refusal('a backreference');
    if (c === 'k') throw new Refusal('a named backreference');
    if (c === 'p' || c === 'P') throw new Refusal('a Unicode property escape');
    if (c === 'c') throw new Refusal('a control escape (\\c)');
    if (/[A-Za-z]/.test(c)) throw new Refusal(`the escape "\\${c}"`);
    return c.charCodeAt(0);
  }

  characterClass(): string {
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.pos++;
    }
    const ranges: [number, number][] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new Refusal('an unclosed class');
      if (c === ']') {
        this.pos++;
        break;
      }
      first = false;
      const low = this.classAtom(ranges);
      if (low === undefined) continue;
      if (this.peek() === '-' && this.src[this.pos + 1] !== ']' && this.src[this.pos + 1] !== undefined) {
        this.pos++;
        const high = this.classAtom(ranges);
        if (high === undefined) throw new Refusal('a range to a class escape');
        if (high < low) throw new Refusal('a range out of order');
        ranges.push([low, high]);
      } else ranges.push([low, low]);
    }
    if (first) throw new Refusal(negated ? 'the class [^]' : 'the empty class []');
    checkSurrogates(ranges);
    return classText(ranges, negated);
  }

  /** One class member: a code unit, or undefined after pushing a class escape's ranges. */
  classAtom(ranges: [number, number][]): number | undefined {
    const c = this.src[this.pos++]!;
    if (c !== '\\') return c.charCodeAt(0);
    const e = this.src[this.pos];
    if (e === 'd' || e === 'w' || e === 's') {
      this.pos++;
      ranges.push(...(e === 'd' ? DIGIT : e === 'w' ? WORD : JS_WHITE_SPACE_RANGES));
      return undefined;
    }
    if (e === 'D' || e === 'W' || e === 'S') throw new Refusal(`"\\${e}" inside a class`);
    if (e === 'b') {
      this.pos++;
      return 0x08;
    }
    if (e === '-') {
      this.pos++;
      return 0x2d;
    }
    return this.characterEscape();
  }
}

/** A class as surrogates see it must be the class as U+E000 sees it (see above). */
function checkSurrogates(ranges: [number, number][]): void {
  const touches = ranges.some(([lo, hi]) => lo <= 0xdfff && hi >= 0xd800);
  const covers = ranges.some(([lo, hi]) => lo <= 0xd800 && hi >= 0xdfff);
  const standIn = ranges.some(([lo, hi]) => lo <= ASTRAL_STAND_IN && hi >= ASTRAL_STAND_IN);
  if ((touches && !covers) || covers !== standIn) throw new Refusal('a class that treats surrogates and U+E000 differently');
}

function classText(ranges: [number, number][], negated: boolean): string {
  for (const [lo, hi] of ranges) if (lo === 0 || hi === 0) throw new Refusal('a NUL character');
  const body = ranges.map(([lo, hi]) => (lo === hi ? charEscape(lo) : `${charEscape(lo)}-${charEscape(hi)}`)).join('');
  return `[${negated ? '^' : ''}${body}]`;
}

/** atom{min,max} in PostgreSQL, whose bounds stop at 255. */
function repeat(atom: string, min: number, max: number | undefined): string {
  const LIMIT = 255;
  if (min <= LIMIT && (max === undefined || max <= LIMIT)) {
    return max === undefined ? `${atom}{${min},}` : min === max ? `${atom}{${min}}` : `${atom}{${min},${max}}`;
  }
  if (min + (max ?? 0) > 100_000) throw new Refusal('a repetition bound too large');
  const group = `(?:${atom})`;
  let out = '';
  for (let left = min; left > 0; left -= Math.min(left, LIMIT)) out += `${group}{${Math.min(left, LIMIT)}}`;
  if (max === undefined) return `${out}${group}*`;
  for (let left = max - min; left > 0; left -= Math.min(left, LIMIT)) out += `${group}{0,${Math.min(left, LIMIT)}}`;
  return out;
}
