/** JSON calls to a codeq server in tests. */

/** The answer of {@link callApi}: status, parsed body (arbitrary JSON, read field by field) and headers. */
export interface ApiAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

/** Calls `base + path` with a bearer token; a body makes it a JSON POST unless `method` says otherwise. */
export async function callApi(
  base: string,
  path: string,
  token: string,
  body?: unknown,
  method: string = body === undefined ? 'GET' : 'POST',
): Promise<ApiAnswer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
