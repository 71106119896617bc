/**
 * Provider-owned configuration: each provider folder declares its flags, defaults and rules
 * (providers/<name>/flags.ts), src/config.ts composes them from providers/registry.ts, and adding
 * a provider touches only its folder and one registry line. The memory provider is the proof.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createProvider, findProvider, providerDeclarations, providerNames } from '../../providers/registry.js';
import { ENV_ONLY_SETTINGS, flagEnvNames, HelpShown, parseConfig, UsageError } from '../../src/config.js';
import { envName } from '../../src/flags/spec.js';
import { createLogger } from '../../src/log.js';
import { listFiles, repoPath } from '../deploy/support.js';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(argv, env, () => undefined);

function usageError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parse(argv, env);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a usage error');
}

function help(): string {
  let text = '';
  expect(() => parseConfig(['--help'], {}, (t) => (text += t))).toThrow(HelpShown);
  return text;
}

describe('a provider added with its folder and one registry line (memory)', () => {
  it('parses its own flag, takes its own route limit default, and builds from its settings', async () => {
    const config = parse(['--provider', 'memory', '--memory-tables', 'blue,green', '--memory-tables', 'red']);
    expect(config).toMatchObject({ provider: 'memory', routeLimit: 'auto', providerSettings: { tables: ['blue', 'green', 'red'] } });
    expect(parse(['--provider', 'memory'], { ROUTESYNC_MEMORY_TABLES: 'one', ROUTESYNC_ROUTE_LIMIT: '3' })).toMatchObject({
      routeLimit: 3,
      providerSettings: { tables: ['one'] },
    });
    const provider = await createProvider({ config, logger: createLogger('silent'), userAgentSuffix: 'test' });
    const tables = await provider.listTables(new AbortController().signal);
    expect(tables.map((t) => t.id)).toEqual(['blue', 'green', 'red']);
    await provider.close();
  });

  it('enforces its own rules at parse time, naming its flag', () => {
    expect(usageError(['--provider', 'memory'])).toBe('--provider memory needs --memory-tables');
    expect(usageError(['--provider', 'memory', '--memory-tables', 'Not_A_Name'])).toContain('--memory-tables');
  });

  it('is hidden: not in --help, nor in the choices an error offers', () => {
    expect(findProvider('memory')?.hidden).toBe(true);
    expect(providerNames()).toEqual(['aws-vpc', 'gce']);
    expect(help()).not.toMatch(/memory/);
    expect(usageError(['--provider', 'azure'])).toContain('expected aws-vpc or gce');
  });
});

describe('composed declarations', () => {
  it('every provider flag has the common variable, known to the unknown-variable check, and visible ones a --help section', () => {
    const text = help();
    const known = flagEnvNames();
    for (const provider of providerDeclarations()) {
      for (const spec of provider.flags) {
        expect(known.has(envName(spec.flag)), spec.flag).toBe(true);
        expect(() => parse(['--provider', 'memory', '--memory-tables', 't'], { [envName(spec.flag)]: spec.default ?? '' })).not.toThrow(/unknown environment variable/);
      }
      for (const name of (provider.env ?? []).filter((n) => n.startsWith('ROUTESYNC_'))) expect(ENV_ONLY_SETTINGS).toContain(name);
      if (provider.hidden !== true) {
        const section = text.slice(text.indexOf(`Options for --provider ${provider.name}:`));
        expect(text).toContain(`Options for --provider ${provider.name}:`);
        for (const spec of provider.flags) expect(section).toContain(`${spec.flag} <${spec.arg}>`);
      }
    }
    expect(text).toContain('falling back to 50 for aws-vpc, 100 for gce');
  });

  it('checks every provider flag whichever provider is chosen, and requires only the chosen one’s', () => {
    expect(usageError(['--provider', 'gce', '--gce-project', 'my-project-123', '--vpc-id', 'vpc-1'])).toContain('--vpc-id');
    expect(parse(['--provider', 'gce', '--gce-project', 'my-project-123']).providerSettings).toEqual({
      project: 'my-project-123',
      network: 'default',
      nodeNetworkTags: [],
      nodeLabels: [],
    });
  });

  it('reads the cloud’s own variables as fallbacks, the flag winning', () => {
    const base = ['--provider', 'aws-vpc', '--vpc-id', 'vpc-0a1b2c3d'];
    expect(parse(base, { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }).providerSettings).toMatchObject({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:1' });
    expect(parse([...base, '--aws-region', 'us-east-2'], { AWS_REGION: 'eu-west-1' }).providerSettings).toMatchObject({ region: 'us-east-2' });
    expect(parse(base, { AWS_REGION: 'eu-west-1', ROUTESYNC_AWS_REGION: 'ap-south-1' }).providerSettings).toMatchObject({ region: 'ap-south-1' });
    expect(usageError(base, { AWS_REGION: 'Mars' })).toContain('--aws-region');
  });

  it('the rules that were checked again when a provider was built are checked once, at parse time', () => {
    const gce = ['--provider', 'gce', '--gce-project', 'my-project-123'];
    expect(usageError(['--provider', 'gce', '--gce-project', 'Bad_Project'])).toContain('--gce-project');
    expect(usageError([...gce, '--gce-network', 'Bad'])).toContain('--gce-network');
    expect(usageError([...gce, '--gce-endpoint', 'http://127.0.0.1:8085/compute/v1'])).toContain('--gce-endpoint');
    expect(usageError([...gce, '--gce-endpoint', 'ftp://127.0.0.1'])).toContain('--gce-endpoint');
    expect(usageError([...gce, '--cluster-name', 'Cluster'])).toContain('--cluster-name');
    expect(usageError([...gce, '--route-limit', '0'])).toContain('--route-limit');
    const aws = ['--provider', 'aws-vpc', '--vpc-id', 'vpc-0a1b2c3d', '--aws-region', 'us-east-1'];
    expect(usageError(aws, { ROUTESYNC_AWS_API_RATE_LIMITS: 'CreateRoute=fast' })).toContain('ROUTESYNC_AWS_API_RATE_LIMITS');
    expect(parse(aws, { ROUTESYNC_AWS_API_RATE_LIMITS: 'off' }).providerSettings).toMatchObject({ rateLimits: false });
    expect(parse(aws, { ROUTESYNC_AWS_API_RATE_LIMITS: 'CreateRoute=100+10/1s' }).providerSettings).toMatchObject({
      rateLimits: { CreateRoute: { capacity: 100, refill: 10, intervalMs: 1000 } },
    });
  });
});

/**
 * The rule: outside its own folder and providers/registry.ts, no code in src/ or providers/ names
 * a provider, its flags or its ROUTESYNC_* variables. Comments are prose and may name a cloud;
 * help sentences saying "AWS table" are prose too. The names come from the declarations, plus the
 * prefixes every provider flag of today's clouds shares, so a new provider is covered at once.
 */
describe('provider names stay in their folders', () => {
  // flannel's backend types (Backend.Type) share two provider names; there they are flannel's vocabulary.
  const ALLOWED: ReadonlyArray<readonly [file: string, text: string]> = [
    ['src/leases/flannel-config.ts', "'aws-vpc'"],
    ['src/leases/flannel-config.ts', "'gce'"],
    ['src/reconcile/reconciler.ts', "'aws-vpc'"],
    ['src/reconcile/reconciler.ts', "'gce'"],
  ];

  function code(source: string): string {
    return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
  }

  it('no provider-specific name occurs outside the provider’s folder and the registry', () => {
    const names = new Map<string, string[]>();
    for (const provider of providerDeclarations()) {
      names.set(provider.name, [
        `'${provider.name}'`,
        `"${provider.name}"`,
        ...provider.flags.map((f) => f.flag),
        ...provider.flags.map((f) => envName(f.flag)),
        ...(provider.env ?? []).filter((n) => n.startsWith('ROUTESYNC_')),
      ]);
    }
    names.get('aws-vpc')?.push('--aws-', '--route-table-id', '--vpc-id', 'ROUTESYNC_AWS_');
    names.get('gce')?.push('--gce-', 'ROUTESYNC_GCE_');
    names.get('memory')?.push('--memory-', 'ROUTESYNC_MEMORY_');
    expect([...names.keys()]).toEqual(['aws-vpc', 'gce', 'memory']);

    const found: string[] = [];
    const files = [...listFiles('src'), ...listFiles('providers')].filter((f) => /\.(ts|mts|mjs)$/.test(f));
    expect(files).toContain('src/config.ts');
    for (const file of files) {
      if (file === 'providers/registry.ts') continue;
      const text = code(readFileSync(repoPath(file), 'utf8'));
      for (const [provider, needles] of names) {
        if (file.startsWith(`providers/${provider}/`)) continue;
        for (const needle of needles) {
          if (!text.includes(needle) || ALLOWED.some(([f, t]) => f === file && t === needle)) continue;
          found.push(`${file}: ${needle}`);
        }
      }
    }
    expect(found).toEqual([]);
  });
});
