/** The aws-vpc provider built from its settings (parsed and checked by ./flags.ts; loaded lazily from there). */
import type { ProviderContext } from '../declaration.js';
import type { RateLimit, RouteProvider } from '../provider.js';
import { createAwsVpcProvider, PROVIDER_NAME } from './index.js';

/** What ./flags.ts parses for this provider. */
export interface AwsVpcSettings {
  /** Empty: the tables of vpcId tagged routesync.io/cluster/<cluster-name> (table-tags.ts). */
  readonly routeTableIds: readonly string[];
  readonly vpcId?: string;
  readonly region: string;
  readonly endpoint?: string;
  /** Service Quotas endpoint (--aws-service-quotas-endpoint, or a local http:// --aws-endpoint). */
  readonly serviceQuotasEndpoint?: string;
  /** EC2 request-rate limits to pace by; false: no client-side pacing. */
  readonly rateLimits: Readonly<Record<string, RateLimit>> | false;
  /** --node-tag: an ENI is a target only when it or its instance carries one of these. */
  readonly nodeTags: ReadonlyArray<{ readonly key: string; readonly value: string }>;
  /** --node-subnet-id: when given, only ENIs in these subnets are targets. */
  readonly nodeSubnetIds: readonly string[];
}

/** `routeLimitFallback`: the declaration's value for --route-limit auto when no quota read succeeds. */
export async function createFromConfig(context: ProviderContext<AwsVpcSettings>, routeLimitFallback: number): Promise<RouteProvider> {
  const { config, logger, userAgentSuffix } = context;
  const aws = config.providerSettings;
  // A plain-http endpoint is a local simulator (ours, moto, LocalStack): it checks no signature,
  // so without credentials in the environment it gets placeholders instead of a metadata probe.
  // (The SDK's own credential chain reads these variables, so they are read here, not parsed as settings.)
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
      routeLimitFallback,
      ...(aws.serviceQuotasEndpoint !== undefined ? { serviceQuotasEndpoint: aws.serviceQuotasEndpoint } : {}),
      userAgentSuffix,
      ...(plainHttpWithoutCredentials ? { credentials: { accessKeyId: 'local-endpoint', secretAccessKey: 'unsigned' } } : {}),
      rateLimits: aws.rateLimits,
      nodeTags: aws.nodeTags,
      nodeSubnetIds: aws.nodeSubnetIds,
      // Between resyncs the node cache is trusted; each resync re-checks it, so lease events cost no lookup of known nodes.
      nodeRefreshIntervalMs: config.resyncIntervalMs,
      logger: logger.child({ provider: PROVIDER_NAME }),
    }),
  );
}
