/**
 * Every error routesync meets is classified here, once, so retry and reporting policy live in
 * one place:
 * - `throttled`: the cloud asked us to slow down: back off (longer), then retry;
 * - `transient`: network trouble, 5xx: back off, retry;
 * - `stale`: the cloud changed under our view (route already exists, or is gone): do not repeat the
 *   call, re-list in a new pass soon;
 * - `lease`: permanent for one lease (unknown ENI/instance, over the route limit): report it on
 *   that lease, do not retry hot;
 * - `fatal`: configuration or permission problems that no retry will fix;
 * - `aborted`: our own AbortSignal fired (shutdown, lost leadership).
 */
export type ErrorClass = 'throttled' | 'transient' | 'stale' | 'lease' | 'fatal' | 'aborted';

export interface ClassifiedError {
  readonly class: ErrorClass;
  /** The cloud's error code or reason (`RouteLimitExceeded`, `rateLimitExceeded`, `ECONNRESET`). */
  readonly code: string;
  readonly httpStatus: number | undefined;
  readonly message: string;
}

/** A configuration problem found at start-up or on first contact: the CLI exits 2 with it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const AWS_CODES: Readonly<Record<string, ErrorClass>> = {
  RequestLimitExceeded: 'throttled',
  Throttling: 'throttled',
  ThrottlingException: 'throttled',
  InternalError: 'transient',
  InternalFailure: 'transient',
  ServiceUnavailable: 'transient',
  Unavailable: 'transient',
  // Our view was stale (someone else changed the table): retrying the same call cannot help; a re-list can.
  RouteAlreadyExists: 'stale',
  // Mostly a permanent refusal ("… belong to different networks"); the one stale case is matched by message below.
  InvalidParameterValue: 'lease',
  RouteLimitExceeded: 'lease',
  'InvalidNetworkInterfaceID.NotFound': 'lease',
  'InvalidNetworkInterfaceID.Malformed': 'lease',
  'InvalidRouteTableID.Malformed': 'fatal',
  CredentialsProviderError: 'fatal',
  'InvalidInstanceID.NotFound': 'lease',
  InvalidInstanceID: 'lease',
  'InvalidRouteTableID.NotFound': 'fatal',
  'InvalidVpcID.NotFound': 'fatal',
  UnauthorizedOperation: 'fatal',
  AuthFailure: 'fatal',
  OptInRequired: 'fatal',
};

/** EC2's answer to a ReplaceRoute whose route is gone: the table changed under our view. */
const ROUTE_GONE = /There is no route defined for '[^']*' in the route table\. Use CreateRoute instead/;

/** Google API `errors[].reason` and operation error codes. */
const GCE_REASONS: Readonly<Record<string, ErrorClass>> = {
  rateLimitExceeded: 'throttled',
  userRateLimitExceeded: 'throttled',
  RATE_LIMIT_EXCEEDED: 'throttled',
  backendError: 'transient',
  internalError: 'transient',
  alreadyExists: 'stale',
  RESOURCE_ALREADY_EXISTS: 'stale',
  notFound: 'lease',
  RESOURCE_NOT_FOUND: 'lease',
  quotaExceeded: 'lease',
  QUOTA_EXCEEDED: 'lease',
  forbidden: 'fatal',
  insufficientPermissions: 'fatal',
};

const NETWORK_CODES = new Set([
  // A 2xx answer whose body is not what the API sends (e.g. a proxy's page): gce compute-api.ts.
  'BadAnswerBody',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  status?: unknown;
  httpStatusCode?: unknown;
  reason?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  errors?: unknown;
  cause?: unknown;
}

function asRecord(err: unknown): ErrorLike {
  return typeof err === 'object' && err !== null ? (err as ErrorLike) : {};
}

function firstString(...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === 'string' && value !== '') return value;
  return undefined;
}

function firstNumber(...values: unknown[]): number | undefined {
  for (const value of values) if (typeof value === 'number' && Number.isFinite(value)) return value;
  return undefined;
}

function reasonOf(e: ErrorLike): string | undefined {
  if (Array.isArray(e.errors)) {
    const first = asRecord(e.errors[0]);
    return firstString(first.reason, first.code);
  }
  return firstString(e.reason);
}

/** Classifies any thrown value: AWS SDK service errors, Google API errors, network errors, aborts. */
export function classifyError(err: unknown): ClassifiedError {
  const e = asRecord(err);
  const message = firstString(e.message) ?? String(err);
  const httpStatus = firstNumber(e.$metadata?.httpStatusCode, e.httpStatusCode, e.status);
  const name = firstString(e.name);
  const code = firstString(e.Code, typeof e.code === 'string' ? e.code : undefined) ?? reasonOf(e) ?? name ?? 'Error';

  if (name === 'AbortError' || code === 'ABORT_ERR') {
    return { class: 'aborted', code: 'AbortError', httpStatus, message };
  }
  if (err instanceof ConfigError) return { class: 'fatal', code: 'ConfigError', httpStatus, message };

  const awsCode = firstString(name !== 'Error' ? name : undefined, code);
  for (const candidate of [awsCode, code]) {
    if (candidate !== undefined && candidate in AWS_CODES) {
      if (candidate === 'InvalidParameterValue' && ROUTE_GONE.test(message)) {
        return { class: 'stale', code: candidate, httpStatus, message };
      }
      return { class: AWS_CODES[candidate] ?? 'transient', code: candidate, httpStatus, message };
    }
  }
  const reason = reasonOf(e);
  if (reason !== undefined && reason in GCE_REASONS) {
    return { class: GCE_REASONS[reason] ?? 'transient', code: reason, httpStatus, message };
  }
  for (const candidate of [code, name]) {
    if (candidate !== undefined && NETWORK_CODES.has(candidate)) {
      return { class: 'transient', code: candidate, httpStatus, message };
    }
  }
  const cause = e.cause;
  if (cause !== undefined && cause !== err) {
    const inner = classifyError(cause);
    if (inner.class !== 'fatal' || inner.code !== 'Error') return { ...inner, message };
  }
  if (httpStatus !== undefined) {
    if (httpStatus === 429) return { class: 'throttled', code, httpStatus, message };
    if (httpStatus >= 500) return { class: 'transient', code, httpStatus, message };
    if (httpStatus === 401 || httpStatus === 403) return { class: 'fatal', code, httpStatus, message };
    if (httpStatus >= 400) return { class: 'fatal', code, httpStatus, message };
  }
  return { class: 'fatal', code, httpStatus, message };
}

const CONFIGURATION_CODES = new Set([
  'ConfigError',
  'InvalidRouteTableID.NotFound',
  'InvalidRouteTableID.Malformed',
  'InvalidVpcID.NotFound',
  'CredentialsProviderError',
]);

/** A fatal error caused by what the operator configured (a table or VPC that does not exist): exit 2. */
export function isConfigurationError(classified: ClassifiedError): boolean {
  return classified.class === 'fatal' && CONFIGURATION_CODES.has(classified.code);
}

/** True for errors after which a new pass (a fresh listing) soon may succeed. */
export function warrantsAnotherPass(classified: ClassifiedError): boolean {
  return classified.class === 'throttled' || classified.class === 'transient' || classified.class === 'stale';
}

/** True for errors worth another attempt of the same call after a pause. */
export function isRetryable(classified: ClassifiedError): boolean {
  return classified.class === 'throttled' || classified.class === 'transient';
}
