/** The registry's entry point: a validated Config → the aws-vpc provider (loaded lazily by providers/registry.ts). */
import { ConfigError } from '../../src/errors.js';
import type { RouteProvider } from '../provider.js';
import type { ProviderContext } from '../registry.js';
import { parseRateLimits } from '../../src/pacing/spec.js';
import { createAwsVpcProvider, PROVIDER_NAME } from './index.js';
import { AWS_EC2_RATE_LIMITS } from './limits.js';

/**
 * EC2 request-rate limits over AWS's defaults (src/pacing/spec.ts syntax), for accounts whose limits
 * AWS raised, or `time-scale=N` for a simulator running N times faster. Named like the environment
 * variable of a future `--aws-api-rate-limits` flag.
 */
export const RATE_LIMITS_ENV = 'ROUTESYNC_AWS_API_RATE_LIMITS';

export async function createFromConfig(context: ProviderContext): Promise<RouteProvider> {
  const { config, logger, userAgentSuffix } = context;
  const { aws } = config;
  // src/config.ts already folds in AWS_REGION and AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL.
  if (aws.region === undefined || aws.region === '') {
    throw new ConfigError('--provider aws-vpc needs --aws-region (or AWS_REGION)');
  }
  if (aws.routeTableIds.length === 0 && aws.vpcId === undefined) {
    throw new ConfigError(
      '--provider aws-vpc needs --route-table-id, or --vpc-id to discover tables tagged routesync/cluster=' + config.clusterName,
    );
  }
  // A plain-http endpoint is a local simulator (ours, moto, LocalStack): it checks no signature,
  // so without credentials in the environment it gets placeholders instead of a metadata probe.
  const plainHttpWithoutCredentials =
    aws.endpoint?.startsWith('http://') === true && process.env['AWS_ACCESS_KEY_ID'] === undefined && process.env['AWS_PROFILE'] === undefined;
  return Promise.resolve(
    createAwsVpcProvider({
      region: aws.region,
      ...(aws.endpoint !== undefined ? { endpoint: aws.endpoint } : {}),
      routeTableIds: aws.routeTableIds,
      ...(aws.vpcId !== undefined ? { vpcId: aws.vpcId } : {}),
      clusterName: config.clusterName,
      routeLimit: config.routeLimit,
      userAgentSuffix,
      ...(plainHttpWithoutCredentials ? { credentials: { accessKeyId: 'local-endpoint', secretAccessKey: 'unsigned' } } : {}),
      rateLimits: parseRateLimits(process.env[RATE_LIMITS_ENV] ?? '', AWS_EC2_RATE_LIMITS, RATE_LIMITS_ENV) ?? false,
      // Between resyncs the node cache is trusted; each resync re-checks it, so lease events cost no lookup of known nodes.
      nodeRefreshIntervalMs: config.resyncIntervalMs,
      logger: logger.child({ provider: PROVIDER_NAME }),
    }),
  );
}
