/**
 * The providers routesync knows, by --provider name (docs/architecture.md, 'Add a provider').
 * Adding one is a folder beside this file plus ONE line below: its declaration (flags, defaults,
 * parse, lazy factory) is all src/config.ts and the service need.
 *
 * Each line loads only the folder's flags.ts, which imports no SDK; the factory it names is loaded
 * when the provider is created. (A top-level await keeps each registration to a single line.)
 */
import type { ProviderContext, ProviderDeclaration } from './declaration.js';
import type { RouteProvider } from './provider.js';

const PROVIDERS: readonly ProviderDeclaration[] = [
  (await import('./aws-vpc/flags.js')).declaration,
  (await import('./gce/flags.js')).declaration,
  (await import('./memory/flags.js')).declaration,
];

/** Every registered provider, hidden ones included, in registration order. */
export function providerDeclarations(): readonly ProviderDeclaration[] {
  return PROVIDERS;
}

export function findProvider(name: string): ProviderDeclaration | undefined {
  return PROVIDERS.find((p) => p.name === name);
}

/** The names to offer an operator: --help and usage errors leave hidden providers out. */
export function providerNames(): string[] {
  return PROVIDERS.filter((p) => p.hidden !== true).map((p) => p.name);
}

export async function createProvider(context: ProviderContext): Promise<RouteProvider> {
  const declaration = findProvider(context.config.provider);
  if (declaration === undefined) throw new Error(`unknown provider ${context.config.provider}`);
  return declaration.create(context);
}

export type { ProviderContext, ProviderDeclaration } from './declaration.js';
