/**
 * Flags and environment variables → a validated Config. Every bad value is reported with the flag
 * that carried it, so the operator knows what to fix; nothing here exits: the CLI turns a UsageError into exit 2.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { DeleteCap } from './planner/plan.js';
import { providerNames, providerDefaults } from '../providers/registry.js';
import { BUILD_COMMIT_ENV, VERSION } from './version.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface EtcdConfig {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface AwsConfig {
  readonly routeTableIds: readonly string[];
  readonly vpcId?: string;
  readonly region?: string;
  readonly endpoint?: string;
}

export interface GceConfig {
  readonly project?: string;
  readonly network: string;
  /** e.g. http://127.0.0.1:8085: an http:// endpoint is used without Google auth. */
  readonly endpoint?: string;
}

export interface Config {
  readonly provider: string;
  readonly etcd: EtcdConfig;
  readonly clusterName: string;
  readonly routeLimit: number;
  readonly resyncIntervalMs: number;
  readonly dryRun: boolean;
  readonly once: boolean;
  readonly leaderElect: boolean;
  readonly leaderElectionKey: string;
  readonly leaderLeaseTtlSeconds: number;
  /** /metrics, /healthz, /readyz; null: none of them. */
  readonly listen: { readonly host: string; readonly port: number } | null;
  /** /status, on its own server (loopback by default); null: not served. */
  readonly statusListen: { readonly host: string; readonly port: number } | null;
  readonly logLevel: LogLevel;
  readonly allowEmpty: boolean;
  readonly maxDeletesPerPass: DeleteCap;
  readonly aws: AwsConfig;
  readonly gce: GceConfig;
}

/** A bad flag or flag value; the message names both. The CLI prints it and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `--help` or `--version` was asked for and printed: exit 0. */
export class HelpShown extends Error {
  override readonly name = 'HelpShown';
}

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
 * ROUTESYNC_* variables that are settings of their own, not a flag's: the AWS API rate limits
 * (providers/aws-vpc/from-config.ts) and the commit the build came from (src/version.ts).
 */
export const ENV_ONLY_SETTINGS: readonly string[] = ['ROUTESYNC_AWS_API_RATE_LIMITS', BUILD_COMMIT_ENV];

function envName(flag: string): string {
  return `ROUTESYNC_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

function valueOption(flags: string, description: string, defaultValue?: string): Option {
  const option = new Option(flags, description);
  return defaultValue === undefined ? option : option.default(defaultValue);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((part) => part.trim()).filter((part) => part !== '')];
}

export function buildCommand(): Command {
  const program = new Command('routesync')
    .description(
      "Keeps cloud route tables in sync with flannel's subnet leases in etcd.\n" +
        'Every flag can also be set with ROUTESYNC_<FLAG_IN_UPPER_SNAKE>, e.g. ROUTESYNC_CLUSTER_NAME.',
    )
    .helpOption('-h, --help', 'show this help')
    .version(VERSION, '--version', 'print the version and exit')
    .configureHelp({ helpWidth: 130 })
    .showHelpAfterError(false)
    .allowExcessArguments(false)
    .addOption(valueOption('--provider <name>', `cloud provider: ${providerNames().join(' or ')} (required)`))
    .addOption(valueOption('--etcd-endpoints <urls>', 'comma-separated etcd v3 endpoints', 'http://127.0.0.1:2379'))
    .addOption(valueOption('--etcd-prefix <path>', "flannel's etcd prefix: <prefix>/config, <prefix>/subnets/", '/coreos.com/network'))
    .addOption(valueOption('--etcd-cafile <file>', 'CA certificate for TLS to etcd'))
    .addOption(valueOption('--etcd-certfile <file>', 'client certificate for TLS to etcd'))
    .addOption(valueOption('--etcd-keyfile <file>', 'client key for TLS to etcd'))
    .addOption(
      valueOption('--cluster-name <name>', 'ownership namespace: AWS table tag value, GCE route name prefix; [a-z][-a-z0-9]{0,30}', 'routesync'),
    )
    .addOption(
      valueOption(
        '--route-limit <n>',
        `max routes per AWS table / per GCE project, counting foreign routes, those routesync does not own (default: ${Object.entries(providerDefaults())
          .map(([name, d]) => `${d.routeLimit} for ${name}`)
          .join(', ')})`,
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
    .addOption(valueOption('--max-deletes-per-pass <n|n%>', 'cap on route deletions per table per pass; a percentage of the owned routes', '20%'))
    .addOption(
      new Option('--route-table-id <ids>', 'AWS: managed route table; repeatable or comma list (default: discover by tag in --vpc-id)')
        .argParser(collect),
    )
    .addOption(valueOption('--vpc-id <id>', 'AWS: VPC whose tables tagged routesync/cluster=<cluster-name> are managed'))
    .addOption(valueOption('--aws-region <region>', 'AWS: region (default: $AWS_REGION)'))
    .addOption(valueOption('--aws-endpoint <url>', 'AWS: EC2 endpoint override (default: $AWS_ENDPOINT_URL_EC2, $AWS_ENDPOINT_URL)'))
    .addOption(valueOption('--gce-project <id>', 'GCE: project whose routes are managed (required for gce)'))
    .addOption(valueOption('--gce-network <name>', 'GCE: VPC network of the routes', 'default'))
    .addOption(valueOption('--gce-endpoint <url>', 'GCE: Compute API endpoint override, e.g. http://127.0.0.1:8085 (an http:// endpoint uses no Google auth)'));
  return program;
}

type Raw = Record<string, unknown>;

/** The variable of every flag that has one (not --help, --version or a --no-… negation). */
export function flagEnvNames(program: Command = buildCommand()): Set<string> {
  return new Set(program.options.filter((o) => o.long !== undefined && !o.negate && o.long !== '--version').map((o) => envName(o.long ?? '')));
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** A ROUTESYNC_* variable that is no setting is a typo: ignoring it would silently run without it. */
function rejectUnknownEnv(program: Command, env: NodeJS.ProcessEnv): void {
  const known = [...flagEnvNames(program), ...ENV_ONLY_SETTINGS];
  const unknown = Object.keys(env)
    .filter((name) => name.startsWith('ROUTESYNC_') && !known.includes(name))
    .sort();
  if (unknown.length === 0) return;
  const described = unknown.map((name) => {
    const closest = [...known].sort((a, b) => editDistance(name, a) - editDistance(name, b))[0] ?? '';
    return `${name}=${JSON.stringify(env[name] ?? '')} (did you mean ${closest}?)`;
  });
  throw new UsageError(`unknown environment variable ${described.join(', ')}; flags are set with ROUTESYNC_<FLAG_IN_UPPER_SNAKE>, see routesync --help`);
}

/** Flag values with the environment filled in: a flag given on the command line wins over ROUTESYNC_*. */
class Values {
  constructor(
    private readonly program: Command,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  private fromEnv(key: string): string | undefined {
    if (this.program.getOptionValueSource(key) === 'cli') return undefined;
    const option = this.program.options.find((o) => o.attributeName() === key && !o.negate);
    return option?.long === undefined ? undefined : this.env[envName(option.long)];
  }

  text(key: string): string | undefined {
    const value = this.fromEnv(key) ?? this.program.opts<Raw>()[key];
    return typeof value === 'string' ? value : undefined;
  }

  list(key: string): string[] {
    const value = this.fromEnv(key);
    if (value !== undefined) return collect(value, []);
    return (this.program.opts<Raw>()[key] as string[] | undefined) ?? [];
  }

  /** How to name a flag in an error: with its environment variable when that is where the value came from. */
  label(flag: string): string {
    const option = this.program.options.find((o) => o.long === flag && !o.negate);
    if (option === undefined || this.fromEnv(option.attributeName()) === undefined) return flag;
    return `${envName(flag)} (${flag})`;
  }

  switch(key: string): boolean {
    const value = this.fromEnv(key);
    if (value === undefined) return this.program.opts<Raw>()[key] === true;
    const option = this.program.options.find((o) => o.attributeName() === key && !o.negate);
    const normalized = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(normalized)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(normalized)) return false;
    throw bad(envName(option?.long ?? key), value, 'expected true or false');
  }
}

function bad(flag: string, value: string, expected: string): UsageError {
  return new UsageError(`invalid value for ${flag}: ${JSON.stringify(value)} (${expected})`);
}

function positiveInt(flag: string, value: string, max = 1_000_000): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw bad(flag, value, `expected a whole number from 1 to ${max}`);
  return Number(value);
}

function url(flag: string, value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw bad(flag, value, 'expected a URL such as http://127.0.0.1:2379');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw bad(flag, value, 'expected an http:// or https:// URL');
  return value;
}

function parseListen(value: string, flag = '--listen'): Config['listen'] {
  if (value.trim() === '') return null;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (match === null || port > 65535) throw bad(flag, value, 'expected host:port, e.g. 0.0.0.0:9090, or empty to disable');
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** PEM blocks of one type, e.g. CERTIFICATE. */
function pemBlocks(text: string, type: RegExp): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)].filter((m) => type.test(m[1] ?? '')).map((m) => m[0]);
}

function readPem(label: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw bad(label, path, `cannot read it: ${why}`);
  }
}

function certificates(label: string, path: string): X509Certificate[] {
  const blocks = pemBlocks(readPem(label, path), /^(X509 |TRUSTED )?CERTIFICATE$/);
  if (blocks.length === 0) throw bad(label, path, 'no PEM certificate in it (-----BEGIN CERTIFICATE-----)');
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw bad(label, path, `certificate ${index + 1} does not parse: ${(err as Error).message}`);
    }
  });
}

/**
 * The TLS files must be readable PEM, and the key must belong to the certificate: otherwise the
 * etcd client fails later with a stack trace and exit 1, and systemd restarts it forever.
 */
function checkTlsFiles(files: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined }, label: (flag: string) => string): void {
  if (files.caFile !== undefined) certificates(label('--etcd-cafile'), files.caFile);
  const cert = files.certFile === undefined ? undefined : certificates(label('--etcd-certfile'), files.certFile)[0];
  if (files.keyFile === undefined) return;
  const keyLabel = label('--etcd-keyfile');
  const keyText = readPem(keyLabel, files.keyFile);
  if (pemBlocks(keyText, /PRIVATE KEY$/).length === 0) throw bad(keyLabel, files.keyFile, 'no PEM private key in it (-----BEGIN PRIVATE KEY-----)');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText);
  } catch (err) {
    throw bad(keyLabel, files.keyFile, `the private key does not parse (an encrypted key is not supported): ${(err as Error).message}`);
  }
  if (cert !== undefined && !cert.checkPrivateKey(key)) {
    throw bad(keyLabel, files.keyFile, `not the key of the certificate in ${label('--etcd-certfile')} ${files.certFile ?? ''}`);
  }
}

function parseDeleteCap(value: string, flag = '--max-deletes-per-pass'): DeleteCap {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (percent !== null && Number(percent[1]) > 0 && Number(percent[1]) <= 100) return { kind: 'percent', value: Number(percent[1]) };
  if (/^\d+$/.test(value)) return { kind: 'count', value: Number(value) };
  throw bad(flag, value, 'expected a count such as 10 or a percentage from 0% to 100% such as 20%');
}

/**
 * Parses argv (without node and script) and the environment into a Config.
 * Throws UsageError for anything wrong, HelpShown after printing --help.
 */
export interface ParseOptions {
  /** Read the TLS files and check they are PEM that fits together (the CLI does; manifest tests only parse). */
  readonly checkFiles?: boolean;
}

export function parseConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  write: (text: string) => void = (t) => process.stdout.write(t),
  options: ParseOptions = {},
): Config {
  const program = buildCommand();
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
  rejectUnknownEnv(program, env);
  const values = new Values(program, env);

  const provider = values.text('provider');
  if (provider === undefined || provider === '') throw new UsageError(`--provider is required (${providerNames().join(' or ')})`);
  const defaults = providerDefaults()[provider];
  if (defaults === undefined) throw bad(values.label('--provider'), provider, `expected ${providerNames().join(' or ')}`);

  const clusterName = values.text('clusterName') ?? 'routesync';
  if (!CLUSTER_NAME.test(clusterName)) throw bad(values.label('--cluster-name'), clusterName, 'expected [a-z][-a-z0-9]{0,30}');

  const endpointsText = values.text('etcdEndpoints') ?? '';
  const endpoints = endpointsText.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (endpoints.length === 0) throw bad(values.label('--etcd-endpoints'), endpointsText, 'expected at least one URL');
  for (const endpoint of endpoints) url(values.label('--etcd-endpoints'), endpoint);

  const prefix = (values.text('etcdPrefix') ?? '').replace(/\/+$/, '');
  if (!prefix.startsWith('/')) throw bad(values.label('--etcd-prefix'), values.text('etcdPrefix') ?? '', 'expected an absolute key path such as /coreos.com/network');

  const tlsFiles = { caFile: values.text('etcdCafile'), certFile: values.text('etcdCertfile'), keyFile: values.text('etcdKeyfile') };
  if ((tlsFiles.certFile === undefined) !== (tlsFiles.keyFile === undefined)) {
    throw new UsageError('--etcd-certfile and --etcd-keyfile go together: give both or neither');
  }
  if (options.checkFiles === true) checkTlsFiles(tlsFiles, (flag) => values.label(flag));

  const routeLimitText = values.text('routeLimit');
  const routeLimit = routeLimitText === undefined ? defaults.routeLimit : positiveInt(values.label('--route-limit'), routeLimitText);

  const resyncText = values.text('resyncInterval') ?? '60s';
  const resyncIntervalMs = parseDuration(resyncText);
  if (resyncIntervalMs === undefined || resyncIntervalMs < 1000) throw bad(values.label('--resync-interval'), resyncText, 'expected a duration of at least 1s, e.g. 60s or 5m');

  const ttlText = values.text('leaderLeaseTtl') ?? '10s';
  const ttlMs = parseDuration(ttlText);
  if (ttlMs === undefined || ttlMs < 2000 || ttlMs % 1000 !== 0) throw bad(values.label('--leader-lease-ttl'), ttlText, 'expected whole seconds, at least 2s, e.g. 10s');

  const logLevel = values.text('logLevel') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw bad(values.label('--log-level'), logLevel, `expected one of ${LOG_LEVELS.join(', ')}`);

  const routeTableIds = values.list('routeTableId');
  for (const id of routeTableIds) if (!/^rtb-[0-9a-f]{8,17}$/.test(id)) throw bad(values.label('--route-table-id'), id, 'expected a route table id such as rtb-0123456789abcdef0');
  const vpcId = values.text('vpcId');
  if (vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) throw bad(values.label('--vpc-id'), vpcId, 'expected a VPC id such as vpc-0123456789abcdef0');
  const region = values.text('awsRegion') ?? env['AWS_REGION'];
  if (region !== undefined && !/^[a-z]{2,4}(-[a-z]+)+-\d+$/.test(region)) throw bad(values.label('--aws-region'), region, 'expected a region such as us-east-1');
  const awsEndpoint = values.text('awsEndpoint') ?? env['AWS_ENDPOINT_URL_EC2'] ?? env['AWS_ENDPOINT_URL'];
  if (awsEndpoint !== undefined) url(values.label('--aws-endpoint'), awsEndpoint);
  if (provider === 'aws-vpc') {
    if (routeTableIds.length === 0 && vpcId === undefined) {
      throw new UsageError('--provider aws-vpc needs --route-table-id or --vpc-id (to discover tables tagged routesync/cluster=<cluster-name>)');
    }
    if (region === undefined) throw new UsageError('--provider aws-vpc needs --aws-region (or AWS_REGION)');
  }

  const gceProject = values.text('gceProject');
  if (gceProject !== undefined && !/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(gceProject)) {
    throw bad(values.label('--gce-project'), gceProject, 'expected a project id such as my-project-123');
  }
  const gceNetwork = values.text('gceNetwork') ?? 'default';
  if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(gceNetwork)) throw bad(values.label('--gce-network'), gceNetwork, 'expected a network name such as default');
  const gceEndpoint = values.text('gceEndpoint');
  if (gceEndpoint !== undefined) url(values.label('--gce-endpoint'), gceEndpoint);
  if (provider === 'gce' && gceProject === undefined) throw new UsageError('--provider gce needs --gce-project');

  const once = values.switch('once');
  const listen = parseListen(values.text('listen') ?? '', values.label('--listen'));
  // `--listen ''` turns HTTP off, /status included, unless --status-listen asks for it.
  const statusGiven = program.getOptionValueSource('statusListen') === 'cli' || env[envName('--status-listen')] !== undefined;
  const statusListen = listen === null && !statusGiven ? null : parseListen(values.text('statusListen') ?? '', values.label('--status-listen'));
  if (listen !== null && statusListen !== null && listen.port !== 0 && listen.port === statusListen.port) {
    throw bad(values.label('--status-listen'), values.text('statusListen') ?? '', `expected a port other than --listen's ${listen.port}`);
  }
  return {
    provider,
    etcd: {
      endpoints,
      prefix,
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
    aws: {
      routeTableIds,
      ...(vpcId !== undefined ? { vpcId } : {}),
      ...(region !== undefined ? { region } : {}),
      ...(awsEndpoint !== undefined ? { endpoint: awsEndpoint } : {}),
    },
    gce: {
      network: gceNetwork,
      ...(gceProject !== undefined ? { project: gceProject } : {}),
      ...(gceEndpoint !== undefined ? { endpoint: gceEndpoint } : {}),
    },
  };
}
