/**
 * One clear message from schema validation failures, whatever the transport: unknown and missing
 * fields are named, and a field carrying an `x-error` annotation answers with the contract's string.
 */

/** One validation failure as a JSON-schema validator reports it (TypeBox or Ajv shape). */
export interface ValidationIssue {
  /** JSON-schema keyword that failed. */
  keyword: string;
  /** JSON pointer of the bad value (`/command`, `` for the root). */
  instancePath: string;
  /** Keyword parameters (`additionalProperties`, `requiredProperties`, `missingProperty`...). */
  params: Record<string, unknown>;
  /** Validator's message. */
  message?: string | undefined;
}

/**
 * Builds one clear message from schema validation failures. Unknown fields and missing fields win
 * (they name the field); then the first field error, using the field's `x-error` annotation when the
 * contract fixes the string (e.g. `invalid command`).
 * @param context `body`, `querystring`, `params` or `headers`.
 * @param schema the schema that failed, to find `x-error` annotations.
 */
export function validationMessage(
  issues: readonly ValidationIssue[],
  context: string,
  schema?: unknown,
): string {
  const prefix =
    context === 'body' ? 'invalid body' : context === 'querystring' ? 'invalid query' : `invalid ${context}`;
  const unknown = issues.find((i) => i.keyword === 'additionalProperties');
  if (unknown) {
    const names = (unknown.params.additionalProperties ?? unknown.params.additionalProperty) as
      string[] | string;
    const first = Array.isArray(names) ? names[0] : names;
    return `${prefix}: unknown field '${pathLabel(unknown.instancePath, first)}'`;
  }
  const required = issues.find((i) => i.keyword === 'required');
  if (required) {
    const names = (required.params.requiredProperties ?? required.params.missingProperty) as
      string[] | string;
    const first = Array.isArray(names) ? names[0] : names;
    return `${prefix}: '${pathLabel(required.instancePath, first)}' is required`;
  }
  const issue = issues.find((i) => i.instancePath !== '' && i.keyword !== 'boolean') ?? issues[0];
  if (!issue) return prefix;
  if (issue.instancePath === '') {
    // An empty patch (`{}`): name the fields it may carry.
    const fields = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
    if (issue.keyword === 'minProperties' && fields)
      return `${prefix}: give at least one of ${Object.keys(fields).join(', ')}`;
    return context === 'body'
      ? `${prefix}: expected a JSON object`
      : `${prefix}: ${issue.message ?? 'invalid'}`;
  }
  const custom = annotation(schema, issue.instancePath);
  if (custom) {
    // Inside a batch item, say which one (`tasks[1]: invalid command`).
    const parts = issue.instancePath.split('/').slice(1);
    if (/^\d+$/.test(parts.pop() ?? '')) parts.pop();
    return parts.length > 0 ? `${pathLabel(`/${parts.join('/')}`)}: ${custom}` : custom;
  }
  const allowed = issues
    .filter((i) => i.instancePath === issue.instancePath && i.keyword === 'const')
    .map((i) => String(i.params.allowedValue));
  if (allowed.length > 0)
    return `${prefix}: '${pathLabel(issue.instancePath)}' must be one of ${allowed.join(', ')}`;
  return `${prefix}: '${pathLabel(issue.instancePath)}' ${issue.message ?? 'is invalid'}`;
}

function pathLabel(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').filter((p) => p !== '');
  if (child !== undefined) parts.push(child);
  return parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The `x-error` of the schema node an error points at (following properties and array items). */
function annotation(schema: unknown, instancePath: string): string | undefined {
  let node = schema as Record<string, unknown> | undefined;
  for (const segment of instancePath.split('/').slice(1)) {
    if (typeof node !== 'object' || node === null) return undefined;
    const props = node.properties as Record<string, Record<string, unknown>> | undefined;
    node = props?.[segment] ?? (node.items as Record<string, unknown> | undefined);
  }
  const value = node?.['x-error'];
  return typeof value === 'string' ? value : undefined;
}
