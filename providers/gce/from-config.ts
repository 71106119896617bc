/** The gce provider built from its settings (parsed and checked by ./flags.ts; loaded lazily from there). */
import type { ProviderContext } from '../declaration.js';
import type { RouteProvider } from '../provider.js';
import { createGceProvider, PROVIDER_NAME } from './index.js';

/** What ./flags.ts parses for this provider. */
export interface GceSettings {
  readonly project: string;
  readonly network: string;
  /** e.g. http://127.0.0.1:8085: an http:// endpoint is used without Google auth. */
  readonly endpoint?: string;
  /** --node-network-tag, --node-label: only instances carrying one of them are targets. */
  readonly nodeNetworkTags: readonly string[];
  readonly nodeLabels: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

/** `routeLimitFallback`: the declaration's value for --route-limit auto when projects.get cannot be read. */
export async function createFromConfig(context: ProviderContext<GceSettings>, routeLimitFallback: number): Promise<RouteProvider> {
  const { config, logger, userAgentSuffix } = context;
  const gce = config.providerSettings;
  // An http:// endpoint (a local emulator or simulator) is used without Google auth; otherwise the
  // Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, the GCE/GKE metadata server).
  return createGceProvider({
    project: gce.project,
    network: gce.network,
    clusterName: config.clusterName,
    routeLimit: config.routeLimit,
    routeLimitFallback,
    ...(gce.endpoint !== undefined ? { endpoint: gce.endpoint } : {}),
    nodeNetworkTags: gce.nodeNetworkTags,
    nodeLabels: gce.nodeLabels,
    userAgentSuffix,
    logger: logger.child({ provider: PROVIDER_NAME }),
  });
}
