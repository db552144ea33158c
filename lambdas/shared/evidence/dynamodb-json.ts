/**
 * DynamoDB's typed JSON (`{"S": "…"}`, `{"N": "3"}`, `{"M": {…}}`…), as export files hold it, to plain
 * values. Written here rather than taken from `@aws-sdk/util-dynamodb` (not a direct dependency), and
 * strict: an attribute it does not know is an error, never silently dropped.
 */
export type AttributeValueJson = Record<string, unknown>;

export class AttributeValueError extends Error {
  override readonly name = 'AttributeValueError';
}

/** One attribute value to its plain value: numbers as `number`, sets as sorted arrays, binary as base64. */
export function fromAttributeValue(value: unknown, path = ''): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new AttributeValueError(`${path || 'value'}: not a DynamoDB attribute value`);
  }
  const entries = Object.entries(value as AttributeValueJson);
  const [type, inner] = entries[0] ?? [];
  if (entries.length !== 1 || type === undefined) {
    throw new AttributeValueError(`${path || 'value'}: an attribute value has exactly one type key`);
  }
  switch (type) {
    case 'S':
    case 'B':
      return expectType(inner, 'string', path);
    case 'N':
      return toNumber(expectType(inner, 'string', path), path);
    case 'BOOL':
      return expectType(inner, 'boolean', path);
    case 'NULL':
      return null;
    case 'M':
      return fromItem(inner, path);
    case 'L':
      if (!Array.isArray(inner)) throw new AttributeValueError(`${path}: L is not a list`);
      return inner.map((element, index) => fromAttributeValue(element, `${path}[${index}]`));
    case 'SS':
    case 'BS':
      return stringList(inner, path);
    case 'NS':
      return stringList(inner, path).map((n) => toNumber(n, path));
    default:
      throw new AttributeValueError(`${path || 'value'}: unknown attribute type "${type}"`);
  }
}

/** An item (a map of attribute values) to a plain object. */
export function fromItem(item: unknown, path = ''): Record<string, unknown> {
  if (!item || typeof item !== 'object' || Array.isArray(item)) {
    throw new AttributeValueError(`${path || 'item'}: not a map of attribute values`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    out[name] = fromAttributeValue(value, path ? `${path}.${name}` : name);
  }
  return out;
}

/** A plain value to an attribute value (the inverse, for writing exports: tests and the benchmark). */
export function toAttributeValue(value: unknown): AttributeValueJson {
  if (value === null || value === undefined) return { NULL: true };
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
  if (typeof value === 'object') return { M: toItem(value as Record<string, unknown>) };
  throw new AttributeValueError(`cannot write a ${typeof value} as a DynamoDB attribute value`);
}

/** A plain object to a map of attribute values; undefined attributes are left out, as the SDK does. */
export function toItem(value: Record<string, unknown>): Record<string, AttributeValueJson> {
  const out: Record<string, AttributeValueJson> = {};
  for (const [name, v] of Object.entries(value)) if (v !== undefined) out[name] = toAttributeValue(v);
  return out;
}

function expectType<T extends 'string' | 'boolean'>(
  inner: unknown,
  type: T,
  path: string,
): T extends 'string' ? string : boolean {
  if (typeof inner !== type) throw new AttributeValueError(`${path || 'value'}: expected a ${type}`);
  return inner as T extends 'string' ? string : boolean;
}

function toNumber(text: string, path: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) {
    throw new AttributeValueError(`${path || 'value'}: "${text}" is not a number`);
  }
  return n;
}

function stringList(inner: unknown, path: string): string[] {
  if (!Array.isArray(inner) || inner.some((s) => typeof s !== 'string')) {
    throw new AttributeValueError(`${path}: a set is a list of strings`);
  }
  return [...(inner as string[])].sort();
}
