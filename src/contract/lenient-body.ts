/**
 * Reading a request body the way codeQ (Go's `encoding/json` under Gin) does: fields the schema does
 * not know are ignored, and `null` stands for an absent field. Kept apart from the schemas so a
 * transport can choose: HTTP applies it to codeQ's routes and keeps codeq's own routes strict.
 */

/** A body read leniently: the value to validate, and the fields that were dropped. */
export interface LenientBody {
  /** The body without unknown fields and without `null` values of typed fields. */
  value: unknown;
  /** Paths of the unknown fields dropped (`tenantId`, `tasks[2].colour`), in body order. */
  ignored: string[];
}

/** The JSON-schema keywords this reads (TypeBox schemas are plain JSON schema). */
interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: unknown;
  items?: SchemaNode;
  type?: unknown;
}

/**
 * Drops what codeQ would not have seen: in every object whose schema closes it
 * (`additionalProperties: false`), unknown fields, and fields set to `null` whose schema has a
 * `type` (a field of any JSON, such as `payload`, keeps its `null`: it is a value there). Arrays are
 * followed into their items. Anything else (a body that is not an object, a wrong type) is left for
 * validation to refuse. Pure: the input is not modified.
 */
export function lenientBody(schema: unknown, value: unknown): LenientBody {
  const ignored: string[] = [];
  return { value: walk(schema as SchemaNode | undefined, value, '', ignored), ignored };
}

function walk(schema: SchemaNode | undefined, value: unknown, path: string, ignored: string[]): unknown {
  if (schema === undefined || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const items = schema.items;
    return items === undefined ? value : value.map((v, i) => walk(items, v, `${path}[${i}]`, ignored));
  }
  const properties = schema.properties;
  if (properties === undefined) return value;
  const closed = schema.additionalProperties === false;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    const fieldSchema = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (fieldSchema === undefined || key === '__proto__') {
      // `__proto__` is never copied: assigning it would set the new object's prototype.
      if (closed || key === '__proto__') {
        ignored.push(path === '' ? key : `${path}.${key}`);
        continue;
      }
      out[key] = field;
      continue;
    }
    if (field === null && fieldSchema.type !== undefined) continue;
    out[key] = walk(fieldSchema, field, path === '' ? key : `${path}.${key}`, ignored);
  }
  return out;
}
