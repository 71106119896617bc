/**
 * The narrow Service Quotas surface the aws-vpc provider uses: the two reads of the "routes per
 * route table" quota (iam/aws-policy.json allows exactly these). Bundled with the EC2 surface at
 * build time (bundle-sdk.mjs), so the client costs little memory.
 */
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ServiceQuotasClient,
  type GetAWSDefaultServiceQuotaCommandInput,
  type GetAWSDefaultServiceQuotaCommandOutput,
  type GetServiceQuotaCommandInput,
  type GetServiceQuotaCommandOutput,
} from '@aws-sdk/client-service-quotas';

export interface ServiceQuotasApi {
  getServiceQuota(input: GetServiceQuotaCommandInput, signal: AbortSignal): Promise<Pick<GetServiceQuotaCommandOutput, 'Quota'>>;
  getAwsDefaultServiceQuota(
    input: GetAWSDefaultServiceQuotaCommandInput,
    signal: AbortSignal,
  ): Promise<Pick<GetAWSDefaultServiceQuotaCommandOutput, 'Quota'>>;
  /** Releases sockets. */
  destroy(): void;
}

export interface ServiceQuotasClientSettings {
  readonly region: string;
  /** Endpoint override; default the SDK's (which honours AWS_ENDPOINT_URL_SERVICE_QUOTAS itself). */
  readonly endpoint?: string;
  readonly userAgentSuffix?: string;
  readonly requestTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** One attempt per call, like the EC2 client: a failed read falls back, and the next period reads again. */
export function createServiceQuotasClient(settings: ServiceQuotasClientSettings): ServiceQuotasClient {
  return new ServiceQuotasClient({
    region: settings.region,
    maxAttempts: 1,
    ...(settings.credentials !== undefined ? { credentials: { ...settings.credentials } } : {}),
    ...(settings.endpoint !== undefined ? { endpoint: settings.endpoint } : {}),
    ...(settings.userAgentSuffix !== undefined && settings.userAgentSuffix !== '' ? { customUserAgent: settings.userAgentSuffix } : {}),
    requestHandler: { requestTimeout: settings.requestTimeoutMs, connectionTimeout: settings.connectionTimeoutMs },
  });
}

export function serviceQuotasApiFromClient(client: Pick<ServiceQuotasClient, 'send' | 'destroy'>): ServiceQuotasApi {
  return {
    getServiceQuota: (input, signal) => client.send(new GetServiceQuotaCommand(input), { abortSignal: signal }),
    getAwsDefaultServiceQuota: (input, signal) => client.send(new GetAWSDefaultServiceQuotaCommand(input), { abortSignal: signal }),
    destroy: () => client.destroy(),
  };
}
