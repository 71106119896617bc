/**
 * deploy/: the Dockerfile, the Kubernetes manifests (as `kubectl apply -k` builds them) and the
 * systemd unit, parsed offline and checked for what breaks a deployment: probes on paths routesync
 * does not serve, settings that are not flags, a root or writable container, an entrypoint that is
 * not routesync, an image that needs dev dependencies, replicas and disruption budget at odds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { build as esbuild } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { shippedEnvironment } from '../../bench/lib/routesync.js';
import { ENV_ONLY_SETTINGS, parseConfig, type Config } from '../../src/config.js';
import {
  at,
  cliEnvNames,
  cliFlags,
  dockerignore,
  execForm,
  findObject,
  flagsIn,
  kustomize,
  listFiles,
  parseDockerfile,
  parseEnvFile,
  parseUnit,
  parseYamlDocs,
  readText,
  repoPath,
  selects,
  unitValue,
  type Json,
  type JsonObject,
  type K8sObject,
} from './support.js';

const pkg = JSON.parse(readText('package.json')) as {
  version: string;
  bin: Record<string, string>;
  engines: { node: string };
  dependencies: Record<string, string>;
};

/** The paths src/http.ts answers on --listen (startHttpServer's routes). */
function servedPaths(): Set<string> {
  const source = /export async function startHttpServer[\s\S]*?\n}\n/.exec(readText('src', 'http.ts'))?.[0] ?? '';
  return new Set([...source.matchAll(/'(\/[a-z]*)': \(/g)].map((m) => m[1] ?? ''));
}

function defaultListenPort(): number {
  const listen = String(cliFlags().get('--listen')?.defaultValue ?? '');
  return Number(/:(\d+)$/.exec(listen)?.[1]);
}

/** parseConfig with only the given environment; throws the UsageError it would exit 2 with. */
function configFromEnv(env: Record<string, string>, argv: string[] = []): Config {
  return parseConfig(argv, env, () => undefined);
}

// ---------------------------------------------------------------------------------------------

describe('deploy/Dockerfile', () => {
  const dockerfile = parseDockerfile(readText('deploy', 'Dockerfile'));
  const [build, runtime] = [dockerfile.stages[0], dockerfile.stages.at(-1)];
  const runs = (stage: typeof build): string[] => (stage?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args);
  const last = (stage: typeof build, keyword: string): string | undefined => stage?.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;

  it('is multi-stage on a Node LTS slim image pinned to an exact version that package.json engines accept', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    expect(build?.name).toBe('build');
    const minimumMajor = Number(/>=\s*(\d+)/.exec(pkg.engines.node)?.[1]);
    for (const stage of dockerfile.stages) {
      const match = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+-slim$/.exec(stage.image);
      expect(match, stage.image).not.toBeNull();
      const major = Number(match?.[1]);
      expect(major % 2, `${stage.image}: LTS lines are even`).toBe(0);
      expect(major).toBeGreaterThanOrEqual(minimumMajor);
    }
    expect(runtime?.image).toBe(build?.image);
  });

  it('builds in the build stage: npm ci, then npm run build, over the sources tsconfig.build.json compiles', () => {
    const commands = runs(build).join('\n');
    expect(commands).toMatch(/npm ci\b/);
    expect(commands.indexOf('npm ci')).toBeLessThan(commands.indexOf('npm run build'));
    const copied = (build?.instructions ?? []).filter((i) => i.keyword === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    const tsconfig = JSON.parse(readText('tsconfig.build.json')) as { include: string[]; extends: string };
    for (const path of [...tsconfig.include, 'tsconfig.build.json', tsconfig.extends.replace(/^\.\//, ''), 'package.json', 'package-lock.json']) {
      expect(copied, path).toContain(path);
    }
  });

  it('installs production dependencies only in the runtime stage, without running prepare, and copies dist/ from the build stage', () => {
    const install = runs(runtime).find((r) => r.includes('npm ci'));
    expect(install).toBeDefined();
    expect(install).toContain('--omit=dev');
    expect(install).toContain('--ignore-scripts');
    expect(runs(runtime).join('\n')).not.toMatch(/npm (run|install)\b|\btsc\b/);
    const fromBuild = (runtime?.instructions ?? []).filter((i) => i.keyword === 'COPY' && i.args.startsWith(`--from=${build?.name} `));
    const copiedDist = fromBuild.map((i) => i.args.split(/\s+/)[1] ?? '');
    // The bin's directory and the providers it imports come from the build stage.
    const workdir = last(runtime, 'WORKDIR');
    expect(copiedDist).toContain(`/src/${pkg.bin['routesync']?.replace(/\/[^/]+$/, '')}`);
    expect(copiedDist).toContain('/src/dist/providers');
    expect(workdir).toBe('/app');
    expect(last(build, 'WORKDIR')).toBe('/src');
  });

  it('the built code imports no package that --omit=dev leaves out', async () => {
    const files = ['dist/src', 'dist/providers'].flatMap((dir) => listFiles(...dir.split('/'))).filter((f) => f.endsWith('.js'));
    expect(files.length, 'run `npm run build` first (npm test does)').toBeGreaterThan(10);
    // esbuild parses the modules, so a package named in a string (the SDK's error messages) is no import.
    const { metafile } = await esbuild({
      entryPoints: files.map((f) => repoPath(f)),
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      outdir: repoPath('dist', 'import-scan'),
      logLevel: 'silent',
    });
    const packages = new Set<string>();
    for (const input of Object.values(metafile.inputs)) {
      for (const { path, external } of input.imports) {
        if (!external || path.startsWith('node:')) continue;
        packages.add(path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : (path.split('/')[0] ?? ''));
      }
    }
    expect(packages.size).toBeGreaterThan(3);
    expect(packages).toContain('etcd3');
    const missing = [...packages].filter((p) => !(p in pkg.dependencies));
    expect(missing).toEqual([]);
    // The EC2 client is bundled at build time (providers/aws-vpc/bundle-sdk.mjs), so it is a dev dependency.
    expect(packages).not.toContain('@aws-sdk/client-ec2');
  });

  it('puts routesync on PATH as a symlink to package.json bin, and its entrypoint is exactly ["routesync"]', () => {
    const link = runs(runtime).join('\n');
    expect(link).toContain(`ln -s /app/${pkg.bin['routesync']} /usr/local/bin/routesync`);
    expect(link).toContain(`chmod 0755 /app/${pkg.bin['routesync']}`);
    expect(readText(pkg.bin['routesync']?.replace(/^dist\/src\/(.+)\.js$/, 'src/$1.ts') ?? '').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(execForm(last(runtime, 'ENTRYPOINT') ?? '')).toEqual(['routesync']);
    const cmd = last(runtime, 'CMD');
    if (cmd !== undefined) for (const flag of flagsIn(execForm(cmd) ?? [])) expect(cliFlags().has(flag), flag).toBe(true);
  });

  it('runs as a numeric non-root user (so that Kubernetes can verify runAsNonRoot), set after the last RUN', () => {
    const instructions = runtime?.instructions ?? [];
    const userIndex = instructions.map((i) => i.keyword).lastIndexOf('USER');
    expect(userIndex).toBeGreaterThan(instructions.map((i) => i.keyword).lastIndexOf('RUN'));
    const [uid, gid] = (instructions[userIndex]?.args ?? '').split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    expect(Number(gid)).toBeGreaterThan(0);
  });

  it('exposes the default --listen port', () => {
    expect(Number(last(runtime, 'EXPOSE'))).toBe(defaultListenPort());
  });

  it('its .dockerignore keeps what the build copies and drops node_modules, dist and the rest', () => {
    const ignored = dockerignore(readText('deploy', 'Dockerfile.dockerignore'));
    const sources = dockerfile.stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(repoPath(source)), `${source} exists`).toBe(true);
      expect(ignored(source), `${source} is in the context`).toBe(false);
    }
    for (const file of ['src/cli.ts', 'providers/registry.ts', 'iam/aws-policy.json']) expect(ignored(file), file).toBe(false);
    for (const path of ['node_modules', 'node_modules/yaml/package.json', 'providers/node_modules/x', 'dist/src/cli.js', '.git/HEAD', 'test/e2e/aws-once.test.ts', 'terraform/aws/main.tf']) {
      expect(ignored(path), path).toBe(true);
    }
  });
});

/**
 * Whether the eviction API lets one pod go (policy/v1: desired healthy from minAvailable or from
 * the scale minus maxUnavailable; an unhealthy pod also goes with unhealthyPodEvictionPolicy
 * AlwaysAllow, or under IfHealthyBudget while the budget is met).
 */
function disruptionAllowed(spec: JsonObject, scale: number, healthy: number, podHealthy: boolean): boolean {
  const amount = (value: Json | undefined): number => (typeof value === 'string' && value.endsWith('%') ? Math.ceil((scale * Number(value.slice(0, -1))) / 100) : Number(value));
  const desired = spec['minAvailable'] !== undefined ? amount(spec['minAvailable']) : scale - amount(spec['maxUnavailable']);
  if (!podHealthy) return spec['unhealthyPodEvictionPolicy'] === 'AlwaysAllow' || healthy >= desired;
  return healthy - desired >= 1;
}

// ---------------------------------------------------------------------------------------------

const OVERLAYS = ['aws', 'gce'] as const;
const PROVIDER_OF = { aws: 'aws-vpc', gce: 'gce' } as const;

function build(overlay: string): K8sObject[] {
  return kustomize('deploy', 'kubernetes', overlay).objects;
}

function podSpec(objects: readonly K8sObject[]): JsonObject {
  return at(findObject(objects, 'Deployment'), 'spec.template.spec') as JsonObject;
}

function container(objects: readonly K8sObject[]): JsonObject {
  const containers = podSpec(objects)['containers'] as JsonObject[];
  expect(containers).toHaveLength(1);
  return containers[0] as JsonObject;
}

/** The ROUTESYNC_* environment the container gets: the ConfigMaps it loads, then its own env. */
function containerEnv(objects: readonly K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  const c = container(objects);
  for (const source of (c['envFrom'] as JsonObject[] | undefined) ?? []) {
    const name = String(at(source, 'configMapRef.name'));
    Object.assign(env, at(findObject(objects, 'ConfigMap', name), 'data'));
  }
  for (const entry of (c['env'] as JsonObject[] | undefined) ?? []) env[String(entry['name'])] = String(entry['value']);
  return env;
}

/** A named container port's number (probes and the Service use names). */
function portNumber(objects: readonly K8sObject[], port: Json): number {
  if (typeof port === 'number') return port;
  const match = ((container(objects)['ports'] as JsonObject[] | undefined) ?? []).find((p) => p['name'] === port);
  if (match === undefined) throw new Error(`no container port named ${String(port)}`);
  return Number(match['containerPort']);
}

describe('deploy/kubernetes', () => {
  it('every manifest file is part of a kustomization, and each overlay builds', () => {
    const used = new Set(OVERLAYS.flatMap((o) => kustomize('deploy', 'kubernetes', o).files));
    const files = listFiles('deploy', 'kubernetes').filter((f) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml'));
    expect(files.filter((f) => !used.has(f))).toEqual([]);
    for (const overlay of OVERLAYS) {
      const kinds = build(overlay).map((o) => o.kind).sort();
      expect(kinds).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    }
  });

  it.skipIf(spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0)('kubectl kustomize builds the same objects and disruption budget', () => {
    for (const overlay of OVERLAYS) {
      const result = spawnSync('kubectl', ['kustomize', repoPath('deploy', 'kubernetes', overlay)], { encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      const real = parseYamlDocs(result.stdout, `kubectl kustomize ${overlay}`) as K8sObject[];
      const ours = build(overlay);
      const names = (objects: readonly K8sObject[]): string[] => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
      expect(names(real)).toEqual(names(ours));
      expect(at(findObject(real, 'PodDisruptionBudget'), 'spec')).toEqual(at(findObject(ours, 'PodDisruptionBudget'), 'spec'));
      expect(at(findObject(real, 'ConfigMap'), 'data')).toEqual(at(findObject(ours, 'ConfigMap'), 'data'));
      expect(at(findObject(real, 'Deployment'), 'spec.replicas')).toBe(2);
    }
  });

  for (const overlay of OVERLAYS) {
    describe(overlay, () => {
      const objects = build(overlay);
      const deployment = findObject(objects, 'Deployment');
      const spec = podSpec(objects);
      const c = container(objects);
      const podLabels = at(deployment, 'spec.template.metadata.labels');

      it('puts everything in one namespace', () => {
        expect(new Set(objects.map((o) => o.metadata.namespace))).toEqual(new Set(['kube-system']));
      });

      it('runs 2 replicas, one per control-plane node, with a disruption budget that lets a drain through', () => {
        const replicas = Number(at(deployment, 'spec.replicas'));
        expect(replicas).toBe(2);
        expect(selects(at(deployment, 'spec.selector.matchLabels'), podLabels)).toBe(true);
        const pdb = findObject(objects, 'PodDisruptionBudget');
        expect(selects(at(pdb, 'spec.selector.matchLabels'), podLabels)).toBe(true);
        // Draining one control-plane node: its replica may go when the other is healthy elsewhere,
        // and an unhealthy replica never holds the drain up; at any replica count.
        const evictable = (healthy: number, podHealthy: boolean, scale = replicas): boolean => disruptionAllowed(at(pdb, 'spec') as JsonObject, scale, healthy, podHealthy);
        expect(evictable(2, true)).toBe(true);
        expect(evictable(1, true), 'the only healthy replica stays').toBe(false);
        expect(evictable(1, false), 'an unready pod on the drained node goes').toBe(true);
        expect(evictable(1, true, 1), 'scaled to one replica, a drain still goes through').toBe(true);
        const rolling = at(deployment, 'spec.strategy.rollingUpdate') as JsonObject;
        expect(Number(rolling['maxUnavailable'])).toBeLessThanOrEqual(Number(at(pdb, 'spec.maxUnavailable')));
        // One pod per node (required anti-affinity on the hostname, also forced by the host port):
        // no surge pod could be scheduled on a control plane with as many nodes as replicas.
        expect(rolling['maxSurge']).toBe(0);
        const antiAffinity = (at(spec, 'affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution') as JsonObject[])[0] ?? {};
        expect(antiAffinity['topologyKey']).toBe('kubernetes.io/hostname');
        expect(selects(at(antiAffinity, 'labelSelector.matchLabels'), podLabels)).toBe(true);
      });

      it('schedules on control-plane nodes only, and tolerates their taints', () => {
        const nodeSelector = at(spec, 'nodeSelector') as JsonObject;
        expect(Object.keys(nodeSelector)).toEqual(['node-role.kubernetes.io/control-plane']);
        const tolerations = spec['tolerations'] as JsonObject[];
        for (const key of ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master']) {
          expect(tolerations.some((t) => t['key'] === key && t['operator'] === 'Exists' && t['effect'] === 'NoSchedule'), key).toBe(true);
        }
      });

      it('runs on the node network without depending on cluster DNS', () => {
        expect(spec['hostNetwork']).toBe(true);
        expect(spec['dnsPolicy']).toBe('Default');
      });

      it('keeps /status on loopback, off the node network the probes and Prometheus use', () => {
        const config = configFromEnv(containerEnv(objects));
        expect(config.statusListen?.host).toBe('127.0.0.1');
        const exposed = ((c['ports'] as JsonObject[] | undefined) ?? []).map((p) => Number(p['containerPort']));
        expect(exposed).not.toContain(config.statusListen?.port);
      });

      it('probes /healthz and /readyz — paths src/http.ts serves — on the port routesync listens on', () => {
        const served = servedPaths();
        expect(served).toEqual(new Set(['/healthz', '/readyz', '/metrics']));
        expect(at(c, 'livenessProbe.httpGet.path')).toBe('/healthz');
        expect(at(c, 'readinessProbe.httpGet.path')).toBe('/readyz');
        const env = containerEnv(objects);
        const listen = configFromEnv(env).listen;
        expect(listen).not.toBeNull();
        for (const probe of ['livenessProbe', 'readinessProbe']) {
          expect(served.has(String(at(c, `${probe}.httpGet.path`)))).toBe(true);
          expect(portNumber(objects, at(c, `${probe}.httpGet.port`)), probe).toBe(listen?.port);
        }
        const service = findObject(objects, 'Service');
        expect(selects(at(service, 'spec.selector'), podLabels)).toBe(true);
        const ports = at(service, 'spec.ports') as JsonObject[];
        expect(ports.map((p) => portNumber(objects, p['targetPort'] as Json))).toEqual([listen?.port]);
      });

      it('runs the image non-root, read-only, without privileges, with resources set', () => {
        const podSecurity = at(spec, 'securityContext') as JsonObject;
        const containerSecurity = at(c, 'securityContext') as JsonObject;
        expect(podSecurity['runAsNonRoot']).toBe(true);
        const dockerUser = parseDockerfile(readText('deploy', 'Dockerfile')).stages.at(-1)?.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
        expect(`${String(podSecurity['runAsUser'])}:${String(podSecurity['runAsGroup'])}`).toBe(dockerUser);
        expect(containerSecurity['readOnlyRootFilesystem']).toBe(true);
        expect(containerSecurity['allowPrivilegeEscalation']).toBe(false);
        expect(at(containerSecurity, 'capabilities.drop')).toEqual(['ALL']);
        expect(at(podSecurity, 'seccompProfile.type')).toBe('RuntimeDefault');
        expect(spec['automountServiceAccountToken']).toBe(false);
        for (const path of ['resources.requests.cpu', 'resources.requests.memory', 'resources.limits.memory']) expect(at(c, path), path).toBeTruthy();
        const image = String(c['image']);
        expect(image.endsWith(`:${pkg.version}`), `${image} is tagged with package.json's version`).toBe(true);
      });

      it('gets every setting from ROUTESYNC_* variables that are real flags, and routesync accepts them', () => {
        const env = containerEnv(objects);
        const real = cliEnvNames();
        const names = Object.keys(env).filter((k) => k.startsWith('ROUTESYNC_'));
        expect(names.length).toBeGreaterThan(5);
        for (const name of names) expect(real.has(name), name).toBe(true);
        expect(c['args']).toBeUndefined();
        expect(c['command']).toBeUndefined();
        const config = configFromEnv(env);
        expect(config.provider).toBe(PROVIDER_OF[overlay]);
        expect(config.leaderElect).toBe(true);
        expect(config.once).toBe(false);
      });

      it('reads the etcd client certificate from the Secret, as files readable by the container user', () => {
        const config = configFromEnv(containerEnv(objects));
        const mounts = (c['volumeMounts'] as JsonObject[]).filter((m) => m['name'] === 'etcd-tls');
        expect(mounts).toHaveLength(1);
        const mountPath = String(mounts[0]?.['mountPath']);
        expect(mounts[0]?.['readOnly']).toBe(true);
        const volume = (spec['volumes'] as JsonObject[]).find((v) => v['name'] === 'etcd-tls') ?? {};
        expect(at(volume, 'secret.secretName')).toBe('routesync-etcd-tls');
        const items = (at(volume, 'secret.items') as JsonObject[]).map((i) => String(i['path']));
        for (const file of [config.etcd.caFile, config.etcd.certFile, config.etcd.keyFile]) {
          expect(file, 'TLS file set').toBeDefined();
          expect(file?.startsWith(`${mountPath}/`), `${file} is under ${mountPath}`).toBe(true);
          expect(items).toContain(file?.slice(mountPath.length + 1));
        }
        // 0440 owned by fsGroup: the key is readable by the container's group and nobody else.
        expect(at(volume, 'secret.defaultMode')).toBe(0o440);
        expect(at(spec, 'securityContext.fsGroup')).toBe(at(spec, 'securityContext.runAsGroup'));
        expect(config.etcd.endpoints.every((e) => e.startsWith('https://'))).toBe(true);
      });

      it('runs as its own ServiceAccount', () => {
        const account = findObject(objects, 'ServiceAccount');
        expect(spec['serviceAccountName']).toBe(account.metadata.name);
        const annotations = (account.metadata['annotations'] ?? {}) as JsonObject;
        if (overlay === 'aws') expect(String(annotations['eks.amazonaws.com/role-arn'])).toMatch(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/);
        else expect(Object.keys(annotations)).toEqual([]);
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('deploy/systemd', () => {
  const unit = parseUnit(readText('deploy', 'systemd', 'routesync.service'));
  const envText = readText('deploy', 'systemd', 'routesync.env');

  it('starts routesync as an unprivileged user, configured by its environment file', () => {
    const exec = (unitValue(unit, 'Service', 'ExecStart') ?? '').split(/\s+/);
    expect(exec[0]).toMatch(/^\/.*\/routesync$/);
    for (const flag of flagsIn(exec.slice(1))) expect(cliFlags().has(flag), flag).toBe(true);
    expect(unitValue(unit, 'Service', 'User')).toMatch(/^(?!root$|0$)[a-z_][a-z0-9_-]*$/);
    expect(unitValue(unit, 'Service', 'EnvironmentFile')).toBe('/etc/routesync/routesync.env');
    expect(envText.split('\n')[0]).toContain('/etc/routesync/routesync.env');
    expect(unitValue(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
  });

  it('does not restart a configuration error (exit 2), and gives the leader time to resign', () => {
    expect(unitValue(unit, 'Service', 'Restart')).toBe('on-failure');
    expect((unitValue(unit, 'Service', 'RestartPreventExitStatus') ?? '').split(/\s+/)).toContain('2');
    expect(unitValue(unit, 'Service', 'KillSignal')).toBe('SIGTERM');
    expect(Number.parseInt(unitValue(unit, 'Service', 'TimeoutStopSec') ?? '0', 10)).toBeGreaterThanOrEqual(15);
  });

  it('is sandboxed, without breaking V8 (MemoryDenyWriteExecute stays off)', () => {
    for (const [key, value] of Object.entries({ NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', CapabilityBoundingSet: '' })) {
      expect(unitValue(unit, 'Service', key), key).toBe(value);
    }
    expect(unitValue(unit, 'Service', 'MemoryDenyWriteExecute') ?? 'no').toBe('no');
    expect(unitValue(unit, 'Service', 'RestrictAddressFamilies')).toContain('AF_INET');
  });

  it('its environment file holds real ROUTESYNC_* variables that routesync accepts, for AWS and (uncommented) GCE', () => {
    const env = parseEnvFile(envText);
    const real = cliEnvNames();
    for (const name of Object.keys(env)) expect(real.has(name), name).toBe(true);
    expect(configFromEnv(env).provider).toBe('aws-vpc');
    // The commented GCE block replaces the AWS lines.
    const gceLines = envText.split('\n').filter((l) => /^# ROUTESYNC_/.test(l)).map((l) => l.slice(2));
    expect(gceLines.length).toBeGreaterThan(1);
    const gceEnv = { ...Object.fromEntries(Object.entries(env).filter(([k]) => !/PROVIDER|VPC|AWS/.test(k))), ...parseEnvFile(gceLines.join('\n')) };
    const gce = configFromEnv(gceEnv);
    expect(gce.provider).toBe('gce');
    expect(gce.providerSettings).toMatchObject({ project: 'my-project-123' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('every ROUTESYNC_* variable and routesync flag named in deploy/, terraform/ and iam/ exists', () => {
  const files = ['deploy', 'terraform', 'iam'].flatMap((dir) => listFiles(dir));

  it('ROUTESYNC_* names', () => {
    const real = new Set([...cliEnvNames(), ...ENV_ONLY_SETTINGS]);
    const named = new Map<string, string>();
    for (const file of files) {
      for (const match of readFileSync(repoPath(file), 'utf8').matchAll(/\bROUTESYNC_[A-Z0-9_]+\b/g)) named.set(match[0], file);
    }
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter(([name]) => !real.has(name)).map(([name, file]) => `${file}: ${name}`)).toEqual([]);
  });

  it('flags on routesync command lines in the docs', () => {
    const flags = cliFlags();
    const unknown: string[] = [];
    let checked = 0;
    for (const file of files.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(repoPath(file), 'utf8').replace(/\\\n\s*/g, ' ');
      for (const line of text.split('\n')) {
        // `routesync --…` as a command (optionally after $, sudo, npx), or `…/routesync:<tag> --…` after docker run.
        const command = /^\s*(?:\$\s*)?(?:sudo\s+)?(?:npx\s+)?routesync\s+(--.*)$/.exec(line) ?? /\/routesync:\S+\s+(--.*)$/.exec(line);
        if (command === null) continue;
        for (const flag of flagsIn((command[1] ?? '').split(/\s+/))) {
          checked += 1;
          if (!flags.has(flag)) unknown.push(`${file}: ${flag}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(unknown).toEqual([]);
  });

  it('deploy/README.md describes every entry of deploy/', () => {
    const readme = readText('deploy', 'README.md');
    const entries = readdirSync(repoPath('deploy')).filter((p) => p !== 'README.md');
    expect(entries.length).toBeGreaterThan(3);
    for (const path of entries) expect(readme, path).toContain(`\`${path}`);
  });
});

// ---------------------------------------------------------------------------------------------

describe("the memory settings routesync ships with (the bench measures the manifest's)", () => {
  const YOUNG = '--max-semi-space-size=1';
  const dockerEnv = (): string =>
    (parseDockerfile(readText('deploy', 'Dockerfile')).stages.at(-1)?.instructions ?? [])
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
  const unitEnv = (unitValue(parseUnit(readText('deploy', 'systemd', 'routesync.service')), 'Service', 'Environment') ?? '').trim();
  const shipped: Record<string, { NODE_OPTIONS: string | undefined; MALLOC_ARENA_MAX: string | undefined }> = {
    image: { NODE_OPTIONS: /(?:^|\s)NODE_OPTIONS=(\S+)/.exec(dockerEnv())?.[1], MALLOC_ARENA_MAX: /(?:^|\s)MALLOC_ARENA_MAX=(\S+)/.exec(dockerEnv())?.[1] },
    systemd: { NODE_OPTIONS: /(?:^|\s)NODE_OPTIONS=(\S+)/.exec(unitEnv)?.[1], MALLOC_ARENA_MAX: /(?:^|\s)MALLOC_ARENA_MAX=(\S+)/.exec(unitEnv)?.[1] },
    ...Object.fromEntries(
      OVERLAYS.map((overlay) => {
        const env = containerEnv(build(overlay));
        return [`kubernetes ${overlay}`, { NODE_OPTIONS: env['NODE_OPTIONS'], MALLOC_ARENA_MAX: env['MALLOC_ARENA_MAX'] }];
      }),
    ),
  };

  it.each(Object.entries(shipped))('%s: a 1 MB young generation and two malloc arenas, and node accepts them', (_where, env) => {
    expect(env.NODE_OPTIONS?.split(/\s+/)).toContain(YOUNG);
    expect(env.MALLOC_ARENA_MAX).toBe('2');
    const run = spawnSync(process.execPath, ['-e', 'process.stdout.write("ok")'], { env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('ok');
  });

  it("the bench starts routesync with the manifest's settings", () => {
    expect(shippedEnvironment()).toEqual(shipped['kubernetes aws']);
    expect(shippedEnvironment()).toEqual(shipped['kubernetes gce']);
  });
});
