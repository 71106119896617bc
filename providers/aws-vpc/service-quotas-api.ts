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
import { awsClientConfig, type AwsClientSettings } from './sdk-client-config.js';

export interface ServiceQuotasApi {
  getServiceQuota(input: GetServiceQuotaCommandInput, signal: AbortSignal): Promise<Pick<GetServiceQuotaCommandOutput, 'Quota'>>;
  getAwsDefaultServiceQuota(
    input: GetAWSDefaultServiceQuotaCommandInput,
    signal: AbortSignal,
  ): Promise<Pick<GetAWSDefaultServiceQuotaCommandOutput, 'Quota'>>;
  /** Releases sockets. */
  destroy(): void;
}

export type ServiceQuotasClientSettings = AwsClientSettings;

/** A ServiceQuotasClient with the provider's client settings (sdk-client-config.ts): a failed read falls back, and the next period reads again. */
export function createServiceQuotasClient(settings: ServiceQuotasClientSettings): ServiceQuotasClient {
  return new ServiceQuotasClient(awsClientConfig(settings));
}

export function serviceQuotasApiFromClient(client: Pick<ServiceQuotasClient, 'send' | 'destroy'>): ServiceQuotasApi {
  return {
    getServiceQuota: (input, signal) => client.send(new GetServiceQuotaCommand(input), { abortSignal: signal }),
    getAwsDefaultServiceQuota: (input, signal) => client.send(new GetAWSDefaultServiceQuotaCommand(input), { abortSignal: signal }),
    destroy: () => client.destroy(),
  };
}
