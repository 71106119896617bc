/** The registry's entry point: a validated Config → the gce provider (loaded lazily by providers/registry.ts). */
import { ConfigError } from '../../src/errors.js';
import type { RouteProvider } from '../provider.js';
import type { ProviderContext } from '../registry.js';
import { createGceProvider, PROVIDER_NAME } from './index.js';

export async function createFromConfig(context: ProviderContext): Promise<RouteProvider> {
  const { config, logger, userAgentSuffix } = context;
  const { gce } = config;
  if (gce.project === undefined || gce.project === '') throw new ConfigError('--provider gce needs --gce-project');
  // An http:// endpoint (a local emulator or simulator) is used without Google auth; otherwise the
  // Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, the GCE/GKE metadata server).
  return createGceProvider({
    project: gce.project,
    network: gce.network,
    clusterName: config.clusterName,
    routeLimit: config.routeLimit,
    ...(gce.endpoint !== undefined ? { endpoint: gce.endpoint } : {}),
    userAgentSuffix,
    logger: logger.child({ provider: PROVIDER_NAME }),
  });
}
