/**
 * Compute API errors as routesync classifies them: an error answer (its JSON body
 * `{"error": {"code", "message", "errors": [{"reason", "domain"}]}}`,
 * https://cloud.google.com/apis/design/errors#http_mapping; Compute adds the legacy `errors[]`),
 * or an error of the Google client libraries (a GaxiosError, a GoogleError), becomes a GceApiError
 * with the HTTP status and `errors[].reason` that src/errors.ts reads; a DONE operation with an
 * error becomes a GceOperationError.
 */
import type { GceOperation } from './compute-types.js';

/** A Compute API error as routesync classifies it (src/errors.ts reads `status` and `errors[0].reason`). */
export class GceApiError extends Error {
  override readonly name = 'GceApiError';
  readonly status: number | undefined;
  readonly httpStatusCode: number | undefined;
  readonly reason: string | undefined;
  readonly errors: ReadonlyArray<{ readonly reason?: string; readonly message?: string; readonly domain?: string }>;
  /**
   * What was thrown, when a library threw it. Not `cause`: src/errors.ts falls back to classifying
   * a cause, and a library's error (a GaxiosError with a numeric code) would mask the reason read here.
   */
  readonly original: unknown;

  constructor(
    message: string,
    options: { readonly status?: number; readonly reason?: string; readonly domain?: string; readonly original?: unknown },
  ) {
    super(message);
    this.original = options.original;
    this.status = options.status;
    this.httpStatusCode = options.status;
    this.reason = options.reason;
    this.errors =
      options.reason !== undefined ? [{ reason: options.reason, message, ...(options.domain !== undefined ? { domain: options.domain } : {}) }] : [];
  }
}

/** A DONE operation that carries an error: the change failed after GCE accepted it. */
export class GceOperationError extends Error {
  override readonly name = 'GceOperationError';
  readonly status: number | undefined;
  readonly httpStatusCode: number | undefined;
  /** The operation's `error.errors[]`; `code` is e.g. `QUOTA_EXCEEDED` (src/errors.ts reads `errors[0].code`). */
  readonly errors: ReadonlyArray<{ readonly code: string; readonly message: string }>;
  readonly operation: string;

  constructor(operation: GceOperation) {
    const errors = (operation.error?.errors ?? []).map((e) => ({ code: e.code ?? 'UNKNOWN', message: e.message ?? '' }));
    const first = errors[0];
    super(
      `operation ${operation.name ?? '?'} (${operation.operationType ?? '?'} ${shortTarget(operation.targetLink)}) failed: ` +
        (first !== undefined ? `${first.code}: ${first.message}` : 'unknown error'),
    );
    const status = typeof operation.httpErrorStatusCode === 'number' && operation.httpErrorStatusCode > 0 ? operation.httpErrorStatusCode : undefined;
    this.status = status;
    this.httpStatusCode = status;
    this.errors = errors;
    this.operation = operation.name ?? '';
  }
}

function shortTarget(link: string | null | undefined): string {
  return link?.split('/').slice(-3).join('/') ?? '?';
}

/** The GceApiError of an error answer: its status and body text (JSON, or e.g. a proxy's HTML). */
export function apiErrorFromResponse(status: number, body: string): GceApiError {
  const parsed = parseJson(body) as { error?: { message?: unknown; errors?: unknown } } | undefined;
  const inner = parsed?.error;
  const first = Array.isArray(inner?.errors) ? (inner.errors[0] as Record<string, unknown> | undefined) : undefined;
  const message = typeof inner?.message === 'string' ? inner.message : `HTTP ${status}: ${body.slice(0, 200)}`;
  return new GceApiError(message, {
    status,
    ...(typeof first?.['reason'] === 'string' ? { reason: first['reason'] } : {}),
    ...(typeof first?.['domain'] === 'string' ? { domain: first['domain'] } : {}),
  });
}

/**
 * Turns whatever a client library threw into a GceApiError (or returns an abort / network error as is,
 * for src/errors.ts to classify by its code).
 */
export function normaliseError(err: unknown): unknown {
  if (err instanceof GceApiError || err instanceof GceOperationError) return err;
  if (typeof err !== 'object' || err === null) return err;
  const e = err as Record<string, unknown>;
  const response = e['response'] as { status?: unknown; data?: unknown } | undefined;
  const status = firstNumber(e['httpStatusCode'], typeof e['status'] === 'number' ? e['status'] : undefined, response?.status);
  // A network-level failure (no HTTP status): leave it for classifyError (ECONNRESET, AbortError, …).
  if (status === undefined) return err;
  const message = typeof e['message'] === 'string' ? e['message'] : String(err);
  let reason: string | undefined;
  let domain: string | undefined;
  let text = message;
  const fromErrors = (errors: unknown): void => {
    if (!Array.isArray(errors)) return;
    const first = errors[0] as Record<string, unknown> | undefined;
    if (first === undefined) return;
    if (typeof first['reason'] === 'string') reason = first['reason'];
    if (typeof first['domain'] === 'string') domain = first['domain'];
  };
  // A GoogleError carries errors[]; a GaxiosError (the auth library's token requests) the JSON body as its message or data.
  fromErrors(e['errors']);
  const body = parseJson(message) ?? (typeof response?.data === 'object' ? response.data : undefined);
  const inner = (body as { error?: { message?: unknown; errors?: unknown } } | undefined)?.error;
  if (inner !== undefined) {
    if (typeof inner.message === 'string') text = inner.message;
    if (reason === undefined) fromErrors(inner.errors);
  }
  if (reason === undefined && typeof e['reason'] === 'string') reason = e['reason'];
  return new GceApiError(text, {
    status,
    ...(reason !== undefined ? { reason } : {}),
    ...(domain !== undefined ? { domain } : {}),
    original: err,
  });
}

function parseJson(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return undefined;
  }
}

function firstNumber(...values: unknown[]): number | undefined {
  for (const value of values) if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  return undefined;
}
