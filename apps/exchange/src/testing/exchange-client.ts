/** A tiny HTTP client for the exchange's int-specs (fetch; JSON parsed when it is JSON). */

export interface CallOptions {
  readonly token?: string;
  /** Default TREAT; null sends no purpose header. */
  readonly purpose?: string | null;
  readonly reason?: string;
  readonly method?: 'GET' | 'POST' | 'PUT';
  readonly body?: unknown;
  readonly rawBody?: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // Parsed JSON (undefined when the body is not JSON).
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function call(base: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { accept: 'application/fhir+json', ...options.headers };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  const purpose = options.purpose === undefined ? 'TREAT' : options.purpose;
  if (purpose !== null) headers['x-tessera-purpose-of-use'] = purpose;
  if (options.reason !== undefined) headers['x-tessera-break-glass-reason'] = options.reason;
  let body: string | Buffer | undefined = options.rawBody;
  if (body === undefined && options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && headers['content-type'] === undefined)
    headers['content-type'] = 'application/fhir+json';
  const response = await fetch(`${base}${path}`, {
    method: options.method ?? 'GET',
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Ids of the resources of a Bundle. */
export function idsOf(bundle: { entry?: { resource?: { id?: string } }[] } | undefined): string[] {
  return (bundle?.entry ?? []).map((e) => e.resource?.id ?? '').sort();
}
