/**
 * `routesync cleanup --provider … [the service's flags]`: the service's command (src/config.ts)
 * plus the flags only a teardown has. The service's flags are all accepted, so that the same
 * flags and ROUTESYNC_* environment that run routesync also clean up after it; those that mean
 * nothing to a one-shot teardown (--once, --listen, --status-listen, --resync-interval,
 * --allow-empty, --max-deletes-per-pass) are ignored.
 */
import { Option } from 'commander';
import { buildCommand, parseConfig, UsageError, type Config, type ParseOptions } from './config.js';
import { bad, networkNames } from './flags/checks.js';
import { collect } from './flags/values.js';
import { canonicalCidr } from './net/cidr.js';

export const CLEANUP_COMMAND = 'cleanup';

export interface CleanupSettings {
  /** Run even while another replica leads (and take no leadership). */
  readonly force: boolean;
  /** The flannel Network to use when `<prefix>/config` is missing or unreadable. */
  readonly network?: string;
  /** With --networks: networks left out of the teardown (their routes stay, their config is not read). */
  readonly excludeNetworks?: readonly string[];
}

export function buildCleanupCommand(): ReturnType<typeof buildCommand> {
  return buildCommand()
    .name(`routesync ${CLEANUP_COMMAND}`)
    .description(
      'Deletes every route routesync owns for this cluster (--cluster-name) in the managed tables or GCE network: ' +
        "routesync's owner marks and a destination inside flannel's Network, read from <prefix>/config " +
        '(with --networks, inside one of the selected networks, each read from <prefix>/<name>/config). ' +
        'For a cluster being deleted. Ignores --max-deletes-per-pass and the empty-lease guard; --dry-run lists what it would delete. ' +
        'Exit 0 when no owned route is left, 1 when some remain, 2 for usage or configuration errors, 4 when another replica leads.',
    )
    .addOption(new Option('--force', 'run while another replica holds leadership (it may put routes back); no leadership is taken').default(false))
    .addOption(
      new Option(
        '--network <cidr>',
        "flannel's Network, when <prefix>/config is gone or unreadable; when the config is there, it must say the same (not with --networks)",
      ),
    )
    .addOption(
      new Option(
        '--exclude-networks <names>',
        'with --networks: networks whose routes stay, comma-separated; a selected network whose <prefix>/<name>/config is missing must be excluded',
      ).argParser(collect),
    );
}

export function parseCleanupConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  write: (text: string) => void = (t) => process.stdout.write(t),
  options: Omit<ParseOptions, 'command' | 'readExtra'> = {},
): { config: Config; cleanup: CleanupSettings } {
  let cleanup: CleanupSettings = { force: false };
  const config = parseConfig(argv, env, write, {
    ...options,
    command: buildCleanupCommand(),
    readExtra: (values) => {
      const text = values.text('network');
      let network: string | undefined;
      if (text !== undefined) {
        try {
          network = canonicalCidr(text);
        } catch {
          throw bad(values.label('--network'), text, 'expected an IPv4 CIDR such as 10.1.0.0/16');
        }
      }
      const networks = values.list('networks');
      const excludeNetworks = networkNames(values.label('--exclude-networks'), values.list('excludeNetworks'));
      if (networks.length > 0 && network !== undefined) {
        // Each network's Network comes from its own config: one CIDR cannot stand in for several.
        throw new UsageError(`${values.label('--network')} is for the single network at <prefix>/config; with --networks each network's Network is read from <prefix>/<name>/config`);
      }
      if (excludeNetworks.length > 0 && networks.length === 0) throw new UsageError(`${values.label('--exclude-networks')} needs --networks`);
      for (const name of excludeNetworks) {
        if (!networks.includes(name)) throw bad(values.label('--exclude-networks'), name, `expected one of --networks ${networks.join(',')}`);
      }
      if (networks.length > 0 && networks.every((name) => excludeNetworks.includes(name))) {
        throw new UsageError(`${values.label('--exclude-networks')} excludes every network of --networks: nothing would be cleaned up`);
      }
      cleanup = {
        force: values.switch('force'),
        ...(network !== undefined ? { network } : {}),
        ...(excludeNetworks.length > 0 ? { excludeNetworks } : {}),
      };
    },
  });
  return { config, cleanup };
}
