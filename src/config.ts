/**
 * Flags and environment variables → a validated Config. This file holds the common flags; each
 * provider declares its own (providers/<name>/flags.ts) and they are composed here from
 * providers/registry.ts, for parsing, --help and the known ROUTESYNC_* names. Every bad value is
 * reported with the flag that carried it; nothing here exits: the CLI turns a UsageError into exit 2.
 */
import { Command, CommanderError, Option } from 'commander';
import type { ProviderDeclaration } from '../providers/declaration.js';
import { findProvider, providerDeclarations, providerNames } from '../providers/registry.js';
import { LOG_LEVELS, UsageError, HelpShown, type Config, type ListenAddress, type LogLevel } from './config-types.js';
import { bad, networkNames, positiveInt, url } from './flags/checks.js';
import { envName, type FlagSpec } from './flags/spec.js';
import { checkTlsFiles } from './flags/tls-files.js';
import { rejectUnknownEnv } from './flags/unknown-env.js';
import { collect, declaredValues, Values } from './flags/values.js';
import type { DeleteCap } from './planner/plan.js';
import { BUILD_COMMIT_ENV, VERSION } from './version.js';

export { LOG_LEVELS, UsageError, HelpShown };
export type { Config, EtcdConfig, ListenAddress, LogLevel } from './config-types.js';

const CLUSTER_NAME = /^[a-z][-a-z0-9]{0,30}$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const DURATION = /^(\d+(?:\.\d+)?(ms|s|m|h))+$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations as flannel and Kubernetes operators write them: `60s`, `1m30s`, `500ms`. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(DURATION_PART)) total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? NaN);
  return Number.isFinite(total) ? total : undefined;
}

/**
 * ROUTESYNC_* variables that are settings of their own, not a flag's: those the providers declare
 * (e.g. the AWS API rate limits) and the commit the build came from (src/version.ts).
 */
export const ENV_ONLY_SETTINGS: readonly string[] = [
  ...providerDeclarations().flatMap((p) => (p.env ?? []).filter((name) => name.startsWith('ROUTESYNC_'))),
  BUILD_COMMIT_ENV,
];

function valueOption(flags: string, description: string, defaultValue?: string): Option {
  const option = new Option(flags, description);
  return defaultValue === undefined ? option : option.default(defaultValue);
}

/** A provider's flag as a commander option, in its own --help section (hidden providers: none). */
function providerOption(spec: FlagSpec, provider: ProviderDeclaration): Option {
  const option = valueOption(`${spec.flag} <${spec.arg}>`, spec.help, spec.default);
  if (spec.list === true) option.argParser(collect);
  return provider.hidden === true ? option.hideHelp() : option.helpGroup(`Options for --provider ${provider.name}:`);
}

export function buildCommand(): Command {
  const visible = providerDeclarations().filter((p) => p.hidden !== true);
  const program = new Command('routesync')
    .description(
      "Keeps cloud route tables in sync with flannel's subnet leases in etcd.\n" +
        'Every flag can also be set with ROUTESYNC_<FLAG_IN_UPPER_SNAKE>, e.g. ROUTESYNC_CLUSTER_NAME.\n' +
        "To delete this cluster's routes when tearing it down: routesync cleanup --provider … (see routesync cleanup --help).",
    )
    .helpOption('-h, --help', 'show this help')
    .version(VERSION, '--version', 'print the version and exit')
    .configureHelp({ helpWidth: 130 })
    .showHelpAfterError(false)
    .allowExcessArguments(false)
    .addOption(valueOption('--provider <name>', `cloud provider: ${providerNames().join(' or ')} (required)`))
    .addOption(valueOption('--etcd-endpoints <urls>', 'comma-separated etcd v3 endpoints', 'http://127.0.0.1:2379'))
    .addOption(valueOption('--etcd-prefix <path>', "flannel's etcd prefix: <prefix>/config, <prefix>/subnets/", '/coreos.com/network'))
    .addOption(
      new Option('--networks <names>', "flannel's multi-network mode: the networks under --etcd-prefix, comma-separated (<prefix>/<name>/config, <prefix>/<name>/subnets/)").argParser(collect),
    )
    .addOption(valueOption('--etcd-cafile <file>', 'CA certificate for TLS to etcd'))
    .addOption(valueOption('--etcd-certfile <file>', 'client certificate for TLS to etcd'))
    .addOption(valueOption('--etcd-keyfile <file>', 'client key for TLS to etcd'))
    .addOption(
      valueOption('--cluster-name <name>', 'ownership namespace: AWS table tag value, GCE route name prefix; [a-z][-a-z0-9]{0,30}', 'routesync'),
    )
    .addOption(
      valueOption(
        '--route-limit <n|auto>',
        'max routes per AWS table / per GCE project, counting foreign routes, those routesync does not own; ' +
          `auto reads the account's quota, falling back to ${visible.map((p) => `${p.routeLimitFallback} for ${p.name}`).join(', ')}`,
        'auto',
      ),
    )
    .addOption(valueOption('--resync-interval <duration>', 'full list-and-diff even without lease events', '60s'))
    .addOption(new Option('--dry-run', 'compute and log the plan; call no mutating cloud API').default(false))
    .addOption(new Option('--once', 'one reconcile pass, print a summary, exit (0 all routed, 3 some unrouted, 1 errors, 4 another leader)').default(false))
    .addOption(new Option('--leader-elect', 'campaign in etcd before reconciling').default(true))
    .addOption(new Option('--no-leader-elect', 'reconcile without leader election'))
    .addOption(valueOption('--leader-election-key <name>', 'etcd election name (default: /routesync/<cluster-name>/leader)'))
    .addOption(valueOption('--leader-lease-ttl <duration>', 'etcd lease TTL for leadership', '10s'))
    .addOption(valueOption('--listen <host:port>', 'HTTP address for /metrics, /healthz, /readyz; empty disables HTTP (and /status unless --status-listen is given)', '0.0.0.0:9090'))
    .addOption(
      valueOption(
        '--status-listen <host:port>',
        'HTTP address for /status (every lease, node, ENI and cloud error): loopback unless you open it; empty disables',
        '127.0.0.1:9091',
      ),
    )
    .addOption(valueOption('--log-level <level>', `JSON logs on stderr: ${LOG_LEVELS.join(', ')}`, 'info'))
    .addOption(new Option('--allow-empty', 'let an empty lease set delete owned routes (normally a safety valve keeps them)').default(false))
    .addOption(valueOption('--max-deletes-per-pass <n|n%>', 'cap on route deletions per table per pass; a percentage of the owned routes', '20%'));
  for (const provider of providerDeclarations()) for (const spec of provider.flags) program.addOption(providerOption(spec, provider));
  return program;
}

/** The variable of every flag that has one (not --help, --version or a --no-… negation). */
export function flagEnvNames(program: Command = buildCommand()): Set<string> {
  return new Set(program.options.filter((o) => o.long !== undefined && !o.negate && o.long !== '--version').map((o) => envName(o.long ?? '')));
}

function parseListen(value: string, flag = '--listen'): ListenAddress | null {
  if (value.trim() === '') return null;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (match === null || port > 65535) throw bad(flag, value, 'expected host:port, e.g. 0.0.0.0:9090, or empty to disable');
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function parseDeleteCap(value: string, flag = '--max-deletes-per-pass'): DeleteCap {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (percent !== null && Number(percent[1]) > 0 && Number(percent[1]) <= 100) return { kind: 'percent', value: Number(percent[1]) };
  if (/^\d+$/.test(value)) return { kind: 'count', value: Number(value) };
  throw bad(flag, value, 'expected a count such as 10 or a percentage from 0% to 100% such as 20%');
}

/**
 * The chosen provider's settings. Every provider's flag values are checked, whichever is chosen (a
 * malformed value is a mistake even where unused); only the chosen one's requirements apply.
 */
function parseProviderSettings(chosen: ProviderDeclaration, values: Values, env: NodeJS.ProcessEnv): unknown {
  for (const provider of providerDeclarations()) {
    const own = declaredValues(values, provider.flags, provider.env ?? [], env);
    for (const spec of provider.flags) void (spec.list === true ? own.list(spec.flag) : own.text(spec.flag));
  }
  return chosen.parse(declaredValues(values, chosen.flags, chosen.env ?? [], env));
}

/**
 * Parses argv (without node and script) and the environment into a Config.
 * Throws UsageError for anything wrong, HelpShown after printing --help.
 */
export interface ParseOptions {
  /** Read the TLS files and check they are PEM that fits together (the CLI does; manifest tests only parse). */
  readonly checkFiles?: boolean;
  /** A subcommand's command (buildCommand() plus its own flags, src/cleanup-config.ts) and the reader of those flags. */
  readonly command?: Command;
  readonly readExtra?: (values: Values) => void;
}

export function parseConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  write: (text: string) => void = (t) => process.stdout.write(t),
  options: ParseOptions = {},
): Config {
  const program = options.command ?? buildCommand();
  program.exitOverride();
  program.configureOutput({ writeOut: write, writeErr: () => undefined });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') throw new HelpShown('help');
      throw new UsageError(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
  rejectUnknownEnv([...flagEnvNames(program), ...ENV_ONLY_SETTINGS], env);
  const values = new Values(program, env);

  const providerName = values.text('provider');
  if (providerName === undefined || providerName === '') throw new UsageError(`--provider is required (${providerNames().join(' or ')})`);
  const provider = findProvider(providerName);
  if (provider === undefined) throw bad(values.label('--provider'), providerName, `expected ${providerNames().join(' or ')}`);

  const clusterName = values.text('clusterName') ?? 'routesync';
  if (!CLUSTER_NAME.test(clusterName)) throw bad(values.label('--cluster-name'), clusterName, 'expected [a-z][-a-z0-9]{0,30}');

  const endpointsText = values.text('etcdEndpoints') ?? '';
  const endpoints = endpointsText.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (endpoints.length === 0) throw bad(values.label('--etcd-endpoints'), endpointsText, 'expected at least one URL');
  for (const endpoint of endpoints) url(values.label('--etcd-endpoints'), endpoint);

  const prefix = (values.text('etcdPrefix') ?? '').replace(/\/+$/, '');
  if (!prefix.startsWith('/')) throw bad(values.label('--etcd-prefix'), values.text('etcdPrefix') ?? '', 'expected an absolute key path such as /coreos.com/network');

  const networks = networkNames(values.label('--networks'), values.list('networks'));

  const tlsFiles = { caFile: values.text('etcdCafile'), certFile: values.text('etcdCertfile'), keyFile: values.text('etcdKeyfile') };
  if ((tlsFiles.certFile === undefined) !== (tlsFiles.keyFile === undefined)) {
    throw new UsageError('--etcd-certfile and --etcd-keyfile go together: give both or neither');
  }
  if (options.checkFiles === true) checkTlsFiles(tlsFiles, (flag) => values.label(flag));

  const routeLimitText = values.text('routeLimit') ?? 'auto';
  if (routeLimitText !== 'auto' && !/^\d+$/.test(routeLimitText)) {
    throw bad(values.label('--route-limit'), routeLimitText, "expected a positive whole number, or auto to read the account's quota");
  }
  const routeLimit = routeLimitText === 'auto' ? 'auto' : positiveInt(values.label('--route-limit'), routeLimitText);

  const resyncText = values.text('resyncInterval') ?? '60s';
  const resyncIntervalMs = parseDuration(resyncText);
  if (resyncIntervalMs === undefined || resyncIntervalMs < 1000) throw bad(values.label('--resync-interval'), resyncText, 'expected a duration of at least 1s, e.g. 60s or 5m');

  const ttlText = values.text('leaderLeaseTtl') ?? '10s';
  const ttlMs = parseDuration(ttlText);
  if (ttlMs === undefined || ttlMs < 2000 || ttlMs % 1000 !== 0) throw bad(values.label('--leader-lease-ttl'), ttlText, 'expected whole seconds, at least 2s, e.g. 10s');

  const logLevel = values.text('logLevel') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw bad(values.label('--log-level'), logLevel, `expected one of ${LOG_LEVELS.join(', ')}`);

  const providerSettings = parseProviderSettings(provider, values, env);
  options.readExtra?.(values);

  const once = values.switch('once');
  const listen = parseListen(values.text('listen') ?? '', values.label('--listen'));
  // `--listen ''` turns HTTP off, /status included, unless --status-listen asks for it.
  const statusGiven = program.getOptionValueSource('statusListen') === 'cli' || env[envName('--status-listen')] !== undefined;
  const statusListen = listen === null && !statusGiven ? null : parseListen(values.text('statusListen') ?? '', values.label('--status-listen'));
  if (listen !== null && statusListen !== null && listen.port !== 0 && listen.port === statusListen.port) {
    throw bad(values.label('--status-listen'), values.text('statusListen') ?? '', `expected a port other than --listen's ${listen.port}`);
  }
  return {
    provider: provider.name,
    providerSettings,
    etcd: {
      endpoints,
      prefix,
      ...(networks.length > 0 ? { networks } : {}),
      ...(tlsFiles.caFile !== undefined ? { caFile: tlsFiles.caFile } : {}),
      ...(tlsFiles.certFile !== undefined ? { certFile: tlsFiles.certFile } : {}),
      ...(tlsFiles.keyFile !== undefined ? { keyFile: tlsFiles.keyFile } : {}),
    },
    clusterName,
    routeLimit,
    resyncIntervalMs,
    dryRun: values.switch('dryRun'),
    once,
    leaderElect: values.switch('leaderElect'),
    leaderElectionKey: values.text('leaderElectionKey') ?? `/routesync/${clusterName}/leader`,
    leaderLeaseTtlSeconds: ttlMs / 1000,
    listen,
    statusListen,
    logLevel: logLevel as LogLevel,
    allowEmpty: values.switch('allowEmpty'),
    maxDeletesPerPass: parseDeleteCap(values.text('maxDeletesPerPass') ?? '20%', values.label('--max-deletes-per-pass')),
  };
}
