/** The registry's entry point: a validated Config → the aws-vpc provider (loaded lazily by providers/registry.ts). */
import { ConfigError } from '../../src/errors.js';
import type { RouteProvider } from '../provider.js';
import type { ProviderContext } from '../registry.js';
import { createAwsVpcProvider, PROVIDER_NAME } from './index.js';

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
      logger: logger.child({ provider: PROVIDER_NAME }),
    }),
  );
}
