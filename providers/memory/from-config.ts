/** The memory provider built from its settings (parsed by ./flags.ts): empty tables, no nodes. */
import type { ProviderContext } from '../declaration.js';
import type { RouteProvider } from '../provider.js';
import { MemoryProvider } from './memory-provider.js';

/** What ./flags.ts parses for this provider. */
export interface MemorySettings {
  readonly tables: readonly string[];
}

/** `routeLimitFallback`: the declaration's value, used for --route-limit auto. */
export async function createFromConfig(context: ProviderContext<MemorySettings>, routeLimitFallback: number): Promise<RouteProvider> {
  const provider = new MemoryProvider();
  for (const id of context.config.providerSettings.tables) provider.addTable(id, context.config.routeLimit === 'auto' ? routeLimitFallback : context.config.routeLimit);
  return Promise.resolve(provider);
}
