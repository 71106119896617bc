/**
 * `routesync cleanup`: delete every route routesync owns for this cluster, for a cluster being torn
 * down. It reads flannel's Network (ownership needs it; leases it does not), with --networks each
 * selected network's, checks that no replica
 * leads (one would put the routes back), deletes the owned routes found by one listing, lists again
 * and reports what is left. Returns an exit code; only src/cli.ts exits.
 */
import type { Etcd3 } from 'etcd3';
import type { Config } from '../config.js';
import type { CleanupSettings } from '../cleanup-config.js';
import type { Logger } from '../log.js';
import { ConfigError, isConfigurationError, classifyError } from '../errors.js';
import { untilAborted, withDeadline } from '../abort.js';
import { acquireLeadership, currentLeader } from '../election.js';
import { describeEtcdError } from '../leases/etcd-client.js';
import { configFromText, configKey } from '../leases/flannel.js';
import { planTeardown, type TeardownPlan } from '../planner/teardown.js';
import type { NamedNetworks } from '../planner/ownership.js';
import { parseCidr } from '../net/cidr.js';
import { parseCidr6 } from '../net/cidr6.js';
import { applyChanges, type ChangeResult } from '../reconcile/apply.js';
import { createProvider } from '../../providers/registry.js';
import type { RouteProvider } from '../../providers/provider.js';
import { VERSION } from '../version.js';
import { EXIT } from './exit-codes.js';
import { etcdClientFor, replicaIdentity, type ServiceIo } from './wiring.js';

/** How long etcd may take to answer the config read and the leader check. */
const ETCD_DEADLINE_MS = 10_000;

/** The Network whose routes are routesync's: flannel's config, or --network when it is gone. */
type NetworkChoice =
  | { readonly network: string | undefined; readonly ipv6Network?: string; readonly from: string }
  | { readonly error: string };

export function chooseNetwork(configText: Buffer | null, prefix: string, flag: string | undefined): NetworkChoice {
  const parsed = configFromText(configText, prefix);
  if ('config' in parsed) {
    if (flag !== undefined && flag !== parsed.config.network) {
      return { error: `--network ${flag} is not flannel's Network ${parsed.config.network} (${configKey(prefix)}): drop --network, or fix the one that is wrong` };
    }
    const ipv6 = parsed.config.ipv6Network;
    return { network: parsed.config.network, ...(ipv6 === undefined ? {} : { ipv6Network: ipv6 }), from: configKey(prefix) };
  }
  if (flag !== undefined) return { network: flag, from: '--network' };
  return {
    error: `${parsed.error}: routesync cannot tell its routes from others without flannel's Network; give --network <cidr>, the Network this cluster used`,
  };
}

function space(name: string | undefined, network: string | undefined, ipv6Network: string | undefined): NamedNetworks {
  return { name, ...(network === undefined ? {} : { ipv4: parseCidr(network) }), ...(ipv6Network === undefined ? {} : { ipv6: parseCidr6(ipv6Network) }) };
}

/**
 * flannel's multi-network mode: each selected network's config at `<prefix>/<name>/config`
 * (`configs` by name). Any missing or unusable one refuses the whole run: its routes could not be
 * told from foreign ones, and deleting only the others' would look like a finished teardown.
 */
export function chooseNetworks(configs: ReadonlyMap<string, Buffer | null>, prefix: string, names: readonly string[]): { readonly spaces: readonly NamedNetworks[] } | { readonly error: string } {
  const spaces: NamedNetworks[] = [];
  const errors: string[] = [];
  for (const name of names) {
    const base = `${prefix}/${name}`;
    const parsed = configFromText(configs.get(name) ?? null, base);
    const key = configKey(base);
    if ('error' in parsed) errors.push(`network ${name}: ${parsed.error.includes(key) ? parsed.error : `${parsed.error} (${key})`}`);
    else spaces.push(space(name, parsed.config.network, parsed.config.ipv6Network));
  }
  if (errors.length === 0) return { spaces };
  const missing = names.filter((name) => !spaces.some((s) => s.name === name));
  return {
    error: `${errors.join('; ')}: routesync cannot tell a network's routes from others without its Network; restore the config, or leave the network's routes with --exclude-networks ${missing.join(',')}`,
  };
}

export function formatCleanup(provider: string, plan: TeardownPlan, dryRun: boolean, results: readonly ChangeResult[], left: TeardownPlan | undefined): string {
  const lines = [`routesync ${provider} cleanup${dryRun ? ' (--dry-run)' : ''}:`];
  const failed = new Map(results.filter((r) => !r.ok).map((r) => [r.change, r]));
  for (const table of plan.tables) {
    const remaining = left?.tables.find((t) => t.table === table.table)?.owned.length ?? 0;
    const done = dryRun ? `${table.owned.length} to delete` : `${table.owned.length - [...failed.keys()].filter((c) => 'table' in c && c.table === table.table).length} deleted, ${remaining} owned left`;
    lines.push(`  table ${table.table}: ${table.owned.length} routesync routes, ${done}; ${table.foreign} foreign left alone`);
  }
  for (const change of plan.deletes) {
    if (change.kind !== 'delete') continue;
    const network = plan.networkOf.get(change);
    const what = `${network === undefined ? '' : `[${network}] `}${change.destination} → ${change.previousTarget ?? 'nothing'} in ${change.table}`;
    const failure = failed.get(change);
    if (dryRun) lines.push(`    would delete ${what}`);
    else if (failure !== undefined && !failure.ok) lines.push(`    failed       ${what}: ${failure.error.code} ${failure.error.message}`);
    else lines.push(`    deleted      ${what}`);
  }
  const total = left?.deletes.length ?? 0;
  if (dryRun) lines.push(`  ${plan.deletes.length} route(s) would be deleted; nothing changed`);
  else lines.push(total === 0 ? '  no routesync route is left' : `  ${total} routesync route(s) left: run cleanup again`);
  return `${lines.join('\n')}\n`;
}

interface Held {
  readonly signal: AbortSignal;
  readonly resign?: () => Promise<void>;
}

/** No other leader may run (it would put routes back): exit 4 unless --force, else take leadership. */
async function takeLeadership(config: Config, cleanup: CleanupSettings, client: Etcd3, logger: Logger, io: ServiceIo, identity: string, signal: AbortSignal): Promise<Held | number> {
  if (!config.leaderElect || config.dryRun) return { signal };
  const election = { key: config.leaderElectionKey, ttlSeconds: config.leaderLeaseTtlSeconds, identity };
  const leader = await withDeadline(signal, ETCD_DEADLINE_MS, (deadline) => untilAborted(currentLeader(client, election), deadline));
  if (cleanup.force) {
    if (leader !== undefined) logger.warn({ leader }, 'another routesync leads: cleaning up anyway (--force); it may put routes back');
    return { signal };
  }
  if (leader !== undefined) {
    logger.error({ leader }, 'another routesync is the leader: not cleaning up (stop it first, or --force)');
    io.writeSummary(`routesync cleanup: another replica (${leader}) holds leadership; nothing done (stop it, or use --force)\n`);
    return EXIT.otherLeader;
  }
  // Held for the teardown, so that a replica starting meanwhile waits as a standby.
  const held = await withDeadline(signal, ETCD_DEADLINE_MS, (deadline) => acquireLeadership(client, election, deadline, logger));
  return held;
}

export async function runCleanup(config: Config, cleanup: CleanupSettings, io: ServiceIo, signal: AbortSignal): Promise<number> {
  const identity = replicaIdentity();
  const logger = io.logger.child({ replica: identity, command: 'cleanup' });
  const client = etcdClientFor(config);
  let provider: RouteProvider | undefined;
  let held: Held | undefined;
  const refuse = (error: string): number => {
    logger.fatal(error);
    io.writeSummary(`routesync cleanup: ${error}\n`);
    return EXIT.usage;
  };
  try {
    const names = (config.etcd.networks ?? []).filter((name) => !(cleanup.excludeNetworks ?? []).includes(name));
    const keys = names.length === 0 ? [configKey(config.etcd.prefix)] : names.map((name) => configKey(`${config.etcd.prefix}/${name}`));
    let texts: Array<Buffer | null>;
    try {
      texts = await withDeadline(signal, ETCD_DEADLINE_MS, (deadline) => untilAborted(Promise.all(keys.map((key) => client.get(key).buffer())), deadline));
    } catch (err) {
      logger.error({ ...describeEtcdError(client, err), endpoints: config.etcd.endpoints }, 'etcd is unreachable: nothing deleted');
      return EXIT.runtime;
    }
    let spaces: readonly NamedNetworks[];
    if (names.length === 0) {
      const choice = chooseNetwork(texts[0] ?? null, config.etcd.prefix, cleanup.network);
      if ('error' in choice) return refuse(choice.error);
      logger.info({ network: choice.network, ipv6Network: choice.ipv6Network, from: choice.from }, 'routes inside these networks with routesync\'s marks are owned');
      spaces = [space(undefined, choice.network, choice.ipv6Network)];
    } else {
      const choice = chooseNetworks(new Map(names.map((name, i) => [name, texts[i] ?? null])), config.etcd.prefix, names);
      if ('error' in choice) return refuse(choice.error);
      logger.info({ networks: names, excluded: cleanup.excludeNetworks ?? [] }, "routes inside the selected networks with routesync's marks are owned");
      spaces = choice.spaces;
    }

    try {
      const outcome = await takeLeadership(config, cleanup, client, logger, io, identity, signal);
      if (typeof outcome === 'number') return outcome;
      held = outcome;
    } catch (err) {
      logger.error(describeEtcdError(client, err), 'could not check or take leadership: nothing deleted');
      return EXIT.runtime;
    }

    try {
      provider = await createProvider({ config, logger, userAgentSuffix: `routesync/${VERSION}+${identity}` });
      const before = planTeardown(spaces, await provider.listTables(held.signal));
      if (config.dryRun) {
        io.writeSummary(formatCleanup(config.provider, before, true, [], undefined));
        return EXIT.ok;
      }
      const results = await applyChanges(provider, before.deletes, held.signal);
      for (const result of results) {
        if (!result.ok) logger.warn({ change: result.change, code: result.error.code, err: result.error.message }, 'delete failed');
      }
      // Listed again: what is left is the answer, whatever the calls said.
      const after = planTeardown(spaces, await provider.listTables(held.signal));
      io.writeSummary(formatCleanup(config.provider, before, false, results, after));
      logger.info({ deleted: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length, left: after.deletes.length }, 'cleanup done');
      return after.deletes.length === 0 ? EXIT.ok : EXIT.runtime;
    } catch (err) {
      const classified = classifyError(err);
      logger.error({ code: classified.code, err: classified.message }, 'cleanup failed');
      io.writeSummary(`routesync cleanup: ${classified.message}\n`);
      return err instanceof ConfigError || isConfigurationError(classified) ? EXIT.usage : EXIT.runtime;
    }
  } finally {
    await held?.resign?.().catch((err: unknown) => logger.warn({ err: String(err) }, 'resign failed'));
    await provider?.close().catch(() => undefined);
    client.close();
  }
}
