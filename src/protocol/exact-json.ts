/**
 * A JSON reader and writer that keep what `JSON.parse`/`JSON.stringify` lose and Triton's protocol needs:
 * integers beyond 2^53 (INT64/UINT64 tensors, 64-bit parameters) stay exact as bigint, a float literal
 * such as `1.0` stays distinguishable from the integer `1` (Triton rejects `1.0` for INT tensors), and
 * rapidjson's `NaN`/`Infinity` tokens are accepted and written, as Triton does for FP data.
 */

/** A number literal written with a fraction or exponent whose value is integral (`1.0`, `2e3`). */
export class JsonFloat {
  constructor(readonly value: number) {}
}

export type JsonValue = null | boolean | number | bigint | string | JsonFloat | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Raised for text that is not JSON; `offset` is the character index, as rapidjson reports it. */
export class JsonSyntaxError extends Error {
  readonly code = 'JSON_SYNTAX';
  readonly offset: number;
  readonly reason: string;
  constructor(reason: string, offset: number) {
    super(`${reason} at ${offset}`);
    this.name = 'JsonSyntaxError';
    this.reason = reason;
    this.offset = offset;
  }
}

/** Maximum nesting of arrays/objects (Triton's HTTP_MAX_JSON_NESTING_DEPTH). */
export const MAX_JSON_DEPTH = 100;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

class Reader {
  private i = 0;
  constructor(private readonly s: string) {}

  parseDocument(): JsonValue {
    this.skipWs();
    if (this.i >= this.s.length) throw new JsonSyntaxError('The document is empty.', this.i);
    const v = this.value(0);
    this.skipWs();
    if (this.i < this.s.length) {
      throw new JsonSyntaxError('The document root must not be followed by other values.', this.i);
    }
    return v;
  }

  private skipWs(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  private value(depth: number): JsonValue {
    const c = this.s.charCodeAt(this.i);
    switch (c) {
      case 0x7b: // {
        return this.object(depth + 1);
      case 0x5b: // [
        return this.array(depth + 1);
      case 0x22: // "
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      case 0x4e: // N
        return this.literal('NaN', Number.NaN);
      case 0x49: // I
        return this.infinity(1);
      default:
        if (c === 0x2d && this.s.charCodeAt(this.i + 1) === 0x49) {
          this.i++;
          return this.infinity(-1);
        }
        return this.number();
    }
  }

  private infinity(sign: 1 | -1): number {
    if (this.s.startsWith('Infinity', this.i)) this.i += 8;
    else if (this.s.startsWith('Inf', this.i)) this.i += 3;
    else throw new JsonSyntaxError('Invalid value.', this.i);
    return sign * Number.POSITIVE_INFINITY;
  }

  private literal<T>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.i)) throw new JsonSyntaxError('Invalid value.', this.i);
    this.i += word.length;
    return v;
  }

  private number(): number | bigint | JsonFloat {
    NUMBER_RE.lastIndex = this.i;
    const m = NUMBER_RE.exec(this.s);
    if (!m) throw new JsonSyntaxError('Invalid value.', this.i);
    const text = m[0];
    const start = this.i;
    this.i += text.length;
    if (m[1] === undefined && m[2] === undefined) {
      if (text.length <= 15) return Number(text);
      const big = BigInt(text);
      return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big;
    }
    const v = Number(text);
    if (!Number.isFinite(v)) throw new JsonSyntaxError('Number too big to be stored in double.', start);
    return Number.isInteger(v) ? new JsonFloat(v) : v;
  }

  private string(): string {
    const s = this.s;
    const start = ++this.i;
    let i = start;
    // Fast path: no escapes.
    for (;;) {
      const c = s.charCodeAt(i);
      if (Number.isNaN(c)) throw new JsonSyntaxError('Missing a closing quotation mark in string.', i);
      if (c === 0x22) {
        this.i = i + 1;
        return s.slice(start, i);
      }
      if (c === 0x5c) break;
      if (c < 0x20) throw new JsonSyntaxError('Invalid encoding in string.', i);
      i++;
    }
    let out = s.slice(start, i);
    for (;;) {
      const c = s.charCodeAt(i);
      if (Number.isNaN(c)) throw new JsonSyntaxError('Missing a closing quotation mark in string.', i);
      if (c === 0x22) {
        this.i = i + 1;
        return out;
      }
      if (c < 0x20) throw new JsonSyntaxError('Invalid encoding in string.', i);
      if (c !== 0x5c) {
        out += s[i];
        i++;
        continue;
      }
      const e = s[i + 1];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = s.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            throw new JsonSyntaxError('Incorrect hex digit after \\u escape in string.', i + 2);
          }
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          throw new JsonSyntaxError('Invalid escape character in string.', i + 1);
      }
      i += 2;
    }
  }

  private array(depth: number): JsonValue[] {
    if (depth > MAX_JSON_DEPTH) throw new JsonSyntaxError(`Nesting depth exceeds ${MAX_JSON_DEPTH}.`, this.i);
    this.i++;
    const out: JsonValue[] = [];
    this.skipWs();
    if (this.s.charCodeAt(this.i) === 0x5d) {
      this.i++;
      return out;
    }
    for (;;) {
      this.skipWs();
      out.push(this.value(depth));
      this.skipWs();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x2c) {
        this.i++;
      } else if (c === 0x5d) {
        this.i++;
        return out;
      } else {
        throw new JsonSyntaxError("Missing a comma or ']' after an array element.", this.i);
      }
    }
  }

  private object(depth: number): JsonObject {
    if (depth > MAX_JSON_DEPTH) throw new JsonSyntaxError(`Nesting depth exceeds ${MAX_JSON_DEPTH}.`, this.i);
    this.i++;
    const out: JsonObject = Object.create(null);
    this.skipWs();
    if (this.s.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.s.charCodeAt(this.i) !== 0x22)
        throw new JsonSyntaxError('Missing a name for object member.', this.i);
      const key = this.string();
      this.skipWs();
      if (this.s.charCodeAt(this.i) !== 0x3a) {
        throw new JsonSyntaxError('Missing a colon after a name of object member.', this.i);
      }
      this.i++;
      this.skipWs();
      out[key] = this.value(depth);
      this.skipWs();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x2c) {
        this.i++;
      } else if (c === 0x7d) {
        this.i++;
        return out;
      } else {
        throw new JsonSyntaxError("Missing a comma or '}' after an object member.", this.i);
      }
    }
  }
}

/**
 * Parses JSON text. Integer literals beyond ±(2^53−1) become bigint, integral float literals become
 * JsonFloat, objects have a null prototype. Throws JsonSyntaxError.
 */
export function parseExactJson(text: string): JsonValue {
  return new Reader(text).parseDocument();
}

/** Pre-rendered JSON text inserted verbatim by the writer (used for large tensor data). */
export class JsonRaw {
  constructor(readonly text: string) {}
}

export type JsonWritable =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonFloat
  | JsonRaw
  | readonly JsonWritable[]
  | { readonly [key: string]: JsonWritable | undefined };

function numberText(v: number): string {
  // String() writes NaN/Infinity/-Infinity as rapidjson does with its NaN/Inf flag; it would drop the sign of -0.
  return Object.is(v, -0) ? '-0.0' : String(v);
}

/**
 * Serialises like JSON.stringify (no whitespace, undefined members skipped) but writes bigint as exact
 * digits, NaN/Infinity as rapidjson tokens and JsonRaw verbatim.
 */
export function stringifyExactJson(value: JsonWritable): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return numberText(value);
    case 'bigint':
      return value.toString();
    case 'string':
      return JSON.stringify(value);
    default:
      break;
  }
  if (value instanceof JsonRaw) return value.text;
  if (value instanceof JsonFloat) {
    const text = numberText(value.value);
    return /^-?[0-9]+$/.test(text) ? `${text}.0` : text;
  }
  if (Array.isArray(value)) {
    const parts = new Array<string>(value.length);
    for (let k = 0; k < value.length; k++) parts[k] = stringifyExactJson(value[k] as JsonWritable);
    return `[${parts.join(',')}]`;
  }
  const obj = value as { readonly [key: string]: JsonWritable | undefined };
  const parts: string[] = [];
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${stringifyExactJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** True for a JSON object (not array, not JsonFloat/JsonRaw). */
export function isJsonObject(v: unknown): v is JsonObject {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof JsonFloat) &&
    !(v instanceof JsonRaw)
  );
}
