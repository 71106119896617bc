/**
 * Service Quotas on the EC2 simulator's port, as AWS's JSON 1.1 protocol has it: `POST /` with
 * `X-Amz-Target: ServiceQuotasV20190624.<Action>` and `Content-Type: application/x-amz-json-1.1`;
 * errors as a non-2xx JSON body `{"__type": "<Code>", "message": …}`. Two reads only, those
 * routesync makes (API reference:
 * https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html,
 * https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetAWSDefaultServiceQuota.html,
 * https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/CommonErrors.html).
 */
import type { Ec2World, ServiceQuotasAction } from './world.js';

export const TARGET_PREFIX = 'ServiceQuotasV20190624.';
const ACTIONS: readonly string[] = ['GetServiceQuota', 'GetAWSDefaultServiceQuota'] satisfies readonly ServiceQuotasAction[];

export interface ServiceQuotasRequest {
  readonly target: string;
  readonly body: string;
  readonly userAgent: string;
  readonly amzUserAgent: string;
}

export interface ServiceQuotasAnswer {
  readonly status: number;
  readonly body: string;
  readonly requestId: string;
}

class QuotaError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function handleServiceQuotasRequest(world: Ec2World, request: ServiceQuotasRequest): ServiceQuotasAnswer {
  const seq = world.nextSeq();
  const time = world.clock();
  const requestId = world.requestIdFor(seq);
  const action = request.target.slice(TARGET_PREFIX.length);
  let params: Record<string, string> = {};
  let status = 200;
  let body: string;
  let errorCode: string | undefined;
  try {
    params = parseBody(request.body);
    body = JSON.stringify(answer(world, action, params));
  } catch (err) {
    const error = err instanceof QuotaError ? err : new QuotaError('ServiceException', String(err), 500);
    status = error.status;
    errorCode = error.code;
    body = JSON.stringify({ __type: error.code, message: error.message });
  }
  world.record({
    seq,
    time,
    action,
    params,
    userAgent: request.userAgent,
    amzUserAgent: request.amzUserAgent,
    requestId,
    httpStatus: status,
    ...(errorCode !== undefined ? { errorCode } : {}),
    applied: false,
  });
  return { status, body, requestId };
}

function parseBody(text: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text === '' ? '{}' : text);
  } catch {
    throw new QuotaError('SerializationException', 'the request body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new QuotaError('SerializationException', 'the request body is not a JSON object');
  return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function answer(world: Ec2World, action: string, params: Readonly<Record<string, string>>): unknown {
  if (!ACTIONS.includes(action)) throw new QuotaError('UnknownOperationException', `unknown operation ${action}`);
  const access = world.serviceQuotasAccessOf(action as ServiceQuotasAction);
  if (access === 'deny') {
    throw new QuotaError('AccessDeniedException', `User is not authorized to perform: servicequotas:${action}`);
  }
  if (access === 'unavailable') throw new QuotaError('ServiceException', 'Something went wrong.', 500);
  const { ServiceCode, QuotaCode } = params;
  if (ServiceCode === undefined || QuotaCode === undefined) throw new QuotaError('IllegalArgumentException', 'ServiceCode and QuotaCode are required');
  // The simulator knows one quota: Amazon VPC's "Routes per route table".
  if (ServiceCode !== 'vpc' || QuotaCode !== 'L-93826ACB') {
    throw new QuotaError('NoSuchResourceException', `The request failed because the specified quota ${ServiceCode}/${QuotaCode} does not exist.`);
  }
  const quota = world.routeQuota();
  const applied = action === 'GetServiceQuota';
  return {
    Quota: {
      ServiceCode: 'vpc',
      ServiceName: 'Amazon Virtual Private Cloud (Amazon VPC)',
      // The default quota's ARN names no account.
      QuotaArn: `arn:aws:servicequotas:${world.region}:${applied ? world.accountId : ''}:vpc/L-93826ACB`,
      QuotaCode: 'L-93826ACB',
      QuotaName: 'Routes per route table',
      Value: applied ? (quota.applied ?? quota.default) : quota.default,
      Unit: 'None',
      Adjustable: true,
      GlobalQuota: false,
    },
  };
}
