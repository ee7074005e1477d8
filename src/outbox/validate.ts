// Checks an enqueue request before anything is written. Every failure is a
// ValidationError naming the field, in the same words as mailroom.enqueue() in SQL.
import { ValidationError } from '../errors.ts';
import type { Catalogue } from '../templates/catalogue.ts';
import type { TemplateDefinition } from '../templates/define.ts';
import { TRACEPARENT } from '../tracing/trace-context.ts';
import { addressOf, MAX_TAGS, TAG } from '../templates/envelope.ts';
import { jsonbTextBytes, MAX_PROPS_BYTES } from './props-size.ts';

/** One @, no whitespace, brackets or control characters (C0, DEL and C1, NUL included), a dotted domain; as mailroom.is_valid_address(). */
const ADDRESS = /^[^\s@<>()[\],;:"\\\x00-\x1f\x7f-\x9f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const LINE_BREAK = /[\r\n]/;
/** What PostgreSQL cannot store in text or jsonb: NUL, and lone UTF-16 surrogates (not Unicode at all). */
const UNSTORABLE = /[\0\p{Cs}]/u;
const LOCALE = /^[a-z]{2}(-[A-Z]{2})?$/;

export function isValidAddress(address: string): boolean {
  return address.length <= 254 && ADDRESS.test(address);
}

export interface EnqueueRequest {
  template: string;
  to: string;
  props: unknown;
  idempotencyKey?: string | null;
  sendAfter?: Date | null;
  notAfter?: Date | null;
  priority?: number | null;
  locale?: string | null;
  traceparent?: string | null;
  replyTo?: string | null;
  tags?: readonly string[] | null;
}

export interface ValidatedRequest {
  definition: TemplateDefinition;
  props: Record<string, unknown>;
  propsJson: string;
}

export function validateEnqueue(catalogue: Catalogue, request: EnqueueRequest): ValidatedRequest {
  if (request === null || typeof request !== 'object') throw new ValidationError('request', 'must be an object');
  const definition = catalogue.get(String(request.template));
  if (!definition) throw new ValidationError('template', `unknown template ${quoted(String(request.template))}`);

  if (typeof request.to !== 'string') throw new ValidationError('to', 'must be a string');
  if (LINE_BREAK.test(request.to)) throw new ValidationError('to', 'contains a line break (CR or LF)');
  if (UNSTORABLE.test(request.to)) throw new ValidationError('to', 'contains a NUL character or a lone surrogate');
  if (!isValidAddress(request.to)) throw new ValidationError('to', `malformed address ${quoted(request.to)}`);

  // Size first, on what the caller sent (no schema work on an oversized payload),
  // counted as mailroom.enqueue() in SQL counts it.
  const rawJson = JSON.stringify(request.props ?? null) ?? 'null';
  const bytes = jsonbTextBytes(rawJson);
  if (bytes > MAX_PROPS_BYTES) throw new ValidationError('props', `are ${bytes} bytes, over the 64 KiB limit`);
  // Else the INSERT fails with a bare PostgreSQL error that names no field.
  const unstorable = unstorablePath(request.props, 'props');
  if (unstorable) throw new ValidationError(unstorable, 'contains a NUL character or a lone surrogate, which PostgreSQL cannot store');
  // The template's header props (the subject's): a line break there is header
  // injection, whatever the schema allows. The same rule as mailroom.enqueue() in SQL.
  if (request.props !== null && typeof request.props === 'object') {
    for (const key of definition.headerProps) {
      const value = (request.props as Record<string, unknown>)[key];
      if (typeof value === 'string' && LINE_BREAK.test(value)) throw new ValidationError(`props.${key}`, 'goes into a header and contains a line break');
    }
  }
  const parsed = definition.schema.safeParse(request.props);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = ['props', ...issue.path.map(String)].join('.');
    throw new ValidationError(field, issue.message);
  }
  const props = parsed.data as Record<string, unknown>;
  const propsJson = JSON.stringify(props);

  const key = request.idempotencyKey;
  if (key != null) {
    if (typeof key !== 'string' || key.length === 0 || key.length > 200 || LINE_BREAK.test(key) || UNSTORABLE.test(key)) {
      throw new ValidationError('idempotencyKey', 'must be one line of 1 to 200 characters, without NUL');
    }
  }
  checkDate(request.sendAfter, 'sendAfter');
  checkDate(request.notAfter, 'notAfter');
  const priority = request.priority;
  if (priority != null && !(Number.isInteger(priority) && priority >= -100 && priority <= 100)) {
    throw new ValidationError('priority', 'must be an integer from -100 to 100');
  }
  const locale = request.locale;
  if (locale != null && (typeof locale !== 'string' || !LOCALE.test(locale))) {
    throw new ValidationError('locale', 'must be a language tag like en or pt-BR');
  }
  const traceparent = request.traceparent;
  if (traceparent != null && (typeof traceparent !== 'string' || !TRACEPARENT.test(traceparent))) {
    throw new ValidationError('traceparent', 'must be a W3C traceparent like 00-<32 hex>-<16 hex>-01');
  }
  const replyTo = request.replyTo;
  if (replyTo != null && addressOf(replyTo) === null) throw new ValidationError('replyTo', 'must be one line, "Name <address>" or an address');
  const tags = request.tags;
  if (tags != null) {
    if (!Array.isArray(tags) || tags.length > MAX_TAGS) throw new ValidationError('tags', `must be a list of at most ${MAX_TAGS} tags`);
    const bad = tags.findIndex((tag) => typeof tag !== 'string' || !TAG.test(tag));
    if (bad !== -1) throw new ValidationError(`tags.${bad}`, 'must be 1-64 of a-z, 0-9, _ . - (starting with a letter or digit)');
  }
  return { definition, props, propsJson };
}

/** A value for an error message: escaped (no control characters reach a log line) and cut to 100 characters. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}

/** The path of the first string (value or key) PostgreSQL cannot store, e.g. `props.name`. */
function unstorablePath(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const found = UNSTORABLE.test(key) ? `${path}.${key}` : unstorablePath(inner, `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}

function checkDate(value: unknown, field: string): void {
  if (value == null) return;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new ValidationError(field, 'must be a valid Date');
}
