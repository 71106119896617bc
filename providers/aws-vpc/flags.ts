/**
 * The aws-vpc provider's declaration: its flags, the variables it reads, its defaults, and the one
 * place its settings are checked. Kept free of the SDK so that --help loads none of it.
 */
import { UsageError } from '../../src/config-types.js';
import { ConfigError } from '../../src/errors.js';
import { matching, url } from '../../src/flags/checks.js';
import { parseRateLimits } from '../../src/pacing/spec.js';
import type { ProviderDeclaration } from '../declaration.js';
import type { AwsVpcSettings } from './from-config.js';
import { AWS_EC2_RATE_LIMITS } from './limits.js';

/**
 * EC2 request-rate limits over AWS's defaults (src/pacing/spec.ts syntax), for accounts whose limits
 * AWS raised, or `time-scale=N` for a simulator running N times faster. Named like the environment
 * variable of a future `--aws-api-rate-limits` flag.
 */
export const RATE_LIMITS_ENV = 'ROUTESYNC_AWS_API_RATE_LIMITS';

const ROUTE_TABLE_ID = '--route-table-id';
const VPC_ID = '--vpc-id';
const REGION = '--aws-region';
const ENDPOINT = '--aws-endpoint';
const NODE_TAG = '--node-tag';
const NODE_SUBNET_ID = '--node-subnet-id';

/** KEY=VALUE, split at the first `=` (AWS tag keys hold up to 128 characters, values up to 256). */
function nodeTag(text: string): { key: string; value: string } {
  const at = text.indexOf('=');
  return { key: text.slice(0, at), value: text.slice(at + 1) };
}
const SERVICE_QUOTAS_ENDPOINT = '--aws-service-quotas-endpoint';
const ROUTE_LIMIT_FALLBACK = 50;

export const declaration: ProviderDeclaration<AwsVpcSettings> = {
  name: 'aws-vpc',
  // Only when Service Quotas cannot be read: 50 was AWS's default until June 2025 (500 since), so
  // every account, however old or unadjusted, holds at least 50 routes per table.
  routeLimitFallback: ROUTE_LIMIT_FALLBACK,
  // Large listings parsed in bursts leave little alive: a small heap costs little here (src/heap-tuning.ts).
  smallHeap: true,
  flags: [
    {
      flag: ROUTE_TABLE_ID,
      arg: 'ids',
      help: 'managed route table; repeatable or comma list (default: discover by tag in --vpc-id)',
      list: true,
      check: matching(/^rtb-[0-9a-f]{8,17}$/, 'expected a route table id such as rtb-0123456789abcdef0'),
    },
    {
      flag: VPC_ID,
      arg: 'id',
      help: 'VPC whose tables tagged routesync.io/cluster/<cluster-name>=owned|shared are managed',
      check: matching(/^vpc-[0-9a-f]{8,17}$/, 'expected a VPC id such as vpc-0123456789abcdef0'),
    },
    {
      flag: REGION,
      arg: 'region',
      help: 'region (default: $AWS_REGION)',
      fallbackEnv: ['AWS_REGION'],
      check: matching(/^[a-z]{2,4}(-[a-z]+)+-\d+$/, 'expected a region such as us-east-1'),
    },
    {
      flag: ENDPOINT,
      arg: 'url',
      help: 'EC2 endpoint override (default: $AWS_ENDPOINT_URL_EC2, $AWS_ENDPOINT_URL)',
      fallbackEnv: ['AWS_ENDPOINT_URL_EC2', 'AWS_ENDPOINT_URL'],
      check: (value, label) => void url(label, value),
    },
    {
      flag: SERVICE_QUOTAS_ENDPOINT,
      arg: 'url',
      // The SDK's service-specific variable; a local http:// --aws-endpoint (simulator, LocalStack, moto) serves both APIs.
      help: 'Service Quotas endpoint override, for --route-limit auto (default: $AWS_ENDPOINT_URL_SERVICE_QUOTAS, $AWS_ENDPOINT_URL, an http:// --aws-endpoint)',
      fallbackEnv: ['AWS_ENDPOINT_URL_SERVICE_QUOTAS', 'AWS_ENDPOINT_URL'],
      check: (value, label) => void url(label, value),
    },
    {
      flag: NODE_TAG,
      arg: 'key=value',
      help: 'only ENIs that carry this tag, or whose instance does, are route targets; repeatable or comma list, any one suffices (e.g. kubernetes.io/cluster/prod=owned)',
      list: true,
      check: matching(/^[^=]{1,128}=[^=]{0,256}$/, 'expected KEY=VALUE such as kubernetes.io/cluster/prod=owned'),
    },
    {
      flag: NODE_SUBNET_ID,
      arg: 'ids',
      help: 'only ENIs in these subnets are route targets; repeatable or comma list',
      list: true,
      check: matching(/^subnet-[0-9a-f]{8,17}$/, 'expected a subnet id such as subnet-0123456789abcdef0'),
    },
  ],
  env: [RATE_LIMITS_ENV],

  parse(values) {
    const routeTableIds = values.list(ROUTE_TABLE_ID);
    const vpcId = values.text(VPC_ID);
    const region = values.text(REGION);
    const endpoint = values.text(ENDPOINT);
    const serviceQuotasEndpoint = values.text(SERVICE_QUOTAS_ENDPOINT) ?? (endpoint?.startsWith('http://') === true ? endpoint : undefined);
    if (routeTableIds.length === 0 && vpcId === undefined) {
      throw new UsageError('--provider aws-vpc needs --route-table-id or --vpc-id (to discover tables tagged routesync.io/cluster/<cluster-name>=owned or shared)');
    }
    if (region === undefined) throw new UsageError('--provider aws-vpc needs --aws-region (or AWS_REGION)');
    let rateLimits: AwsVpcSettings['rateLimits'];
    try {
      rateLimits = parseRateLimits(values.env(RATE_LIMITS_ENV) ?? '', AWS_EC2_RATE_LIMITS, RATE_LIMITS_ENV) ?? false;
    } catch (err) {
      // The same message, at parse time: exit 2 before anything runs.
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    return {
      routeTableIds,
      region,
      rateLimits,
      nodeTags: values.list(NODE_TAG).map(nodeTag),
      nodeSubnetIds: values.list(NODE_SUBNET_ID),
      ...(vpcId !== undefined ? { vpcId } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(serviceQuotasEndpoint !== undefined ? { serviceQuotasEndpoint } : {}),
    };
  },

  create: async (context) => (await import('./from-config.js')).createFromConfig(context, ROUTE_LIMIT_FALLBACK),
};
