/**
 * --provider names → factories (docs/architecture.md, 'Rooms'). Adding a cloud means one entry here and one folder
 * beside this file; an unknown name is a usage error reported by src/config.ts.
 */
import type { Config } from '../src/config.js';
import type { Logger } from '../src/log.js';
import type { RouteProvider } from './provider.js';

export interface ProviderContext {
  readonly config: Config;
  readonly logger: Logger;
  /** Appended to every cloud call's user agent so call logs show which replica acted. */
  readonly userAgentSuffix: string;
}

interface ProviderEntry {
  /** The route limit when --route-limit is not given. */
  readonly routeLimit: number;
  /** Whether the process favours a small heap over pass speed with this provider (src/heap-tuning.ts). */
  readonly smallHeap: boolean;
  /** Loaded lazily: `--help` and the other provider need not load this SDK. */
  readonly create: (context: ProviderContext) => Promise<RouteProvider>;
}

const PROVIDERS: Readonly<Record<string, ProviderEntry>> = {
  'aws-vpc': {
    routeLimit: 50,
    smallHeap: true,
    create: async (context) => (await import('./aws-vpc/from-config.js')).createFromConfig(context),
  },
  gce: {
    routeLimit: 100,
    smallHeap: false,
    create: async (context) => (await import('./gce/from-config.js')).createFromConfig(context),
  },
};

export function providerNames(): string[] {
  return Object.keys(PROVIDERS);
}

export function providerDefaults(): Readonly<Record<string, { readonly routeLimit: number; readonly smallHeap: boolean }>> {
  return PROVIDERS;
}

export async function createProvider(context: ProviderContext): Promise<RouteProvider> {
  const entry = PROVIDERS[context.config.provider];
  if (entry === undefined) throw new Error(`unknown provider ${context.config.provider}`);
  return entry.create(context);
}
