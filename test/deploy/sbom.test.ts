/**
 * The SBOM of the packages bundled into dist/ (providers/aws-vpc/bundle-sbom.mjs): it lists what
 * esbuild's metafile says was bundled, pins it to package-lock.json, has CycloneDX 1.5's shape,
 * and ships in the npm package and the image. Reads the build that `npm run build` made.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METAFILE_PATH, SBOM_PATH, buildSbom, lockfileProblems, npmPurl, type Lockfile, type Metafile } from '../../providers/aws-vpc/bundle-sbom.mjs';
import { parseDockerfile, readText, repoPath } from './support.js';

interface Component {
  type: string;
  'bom-ref': string;
  group?: string;
  name: string;
  version: string;
  purl: string;
  hashes?: Array<{ alg: string; content: string }>;
  properties: Array<{ name: string; value: string }>;
}
interface Bom {
  bomFormat: string;
  specVersion: string;
  serialNumber: string;
  version: number;
  metadata: { component: { name: string; version: string; purl: string }; tools: { components: Array<{ name: string; version: string }> } };
  components: Component[];
  dependencies: Array<{ ref: string; dependsOn: string[] }>;
}
type Lock = { packages: Record<string, { version?: string; integrity?: string; dev?: boolean }> };

const BUILD_HINT = 'run `npm run build` (npm test does)';

/** What the metafile says was bundled, worked out here independently: package dir → name@version. */
function packagesInMetafile(metafile: Metafile): Map<string, string> {
  const found = new Map<string, string>();
  for (const input of Object.keys(metafile.inputs)) {
    const parts = input.split('/');
    const at = parts.lastIndexOf('node_modules');
    if (at < 0) continue;
    const dir = parts.slice(0, at + ((parts[at + 1] ?? '').startsWith('@') ? 3 : 2)).join('/');
    const manifest = JSON.parse(readText(dir, 'package.json')) as { name: string; version: string };
    found.set(dir, `${manifest.name}@${manifest.version}`);
  }
  return found;
}

describe('the SBOM of the bundled packages', () => {
  const read = <T>(path: string): T => {
    if (!existsSync(repoPath(path))) throw new Error(`${path} is missing: ${BUILD_HINT}`);
    return JSON.parse(readText(path)) as T;
  };
  const bom = read<Bom>(SBOM_PATH);
  const metafile = read<Metafile>(METAFILE_PATH);
  const lock = read<Lock>('package-lock.json');
  const pkg = read<{ name: string; version: string; files: string[] }>('package.json');
  const pathsOf = (c: Component): string[] => c.properties.filter((p) => p.name === 'routesync:lockfile-path').map((p) => p.value);

  it('lists every package the metafile shows, with its version, and nothing else', () => {
    const expected = packagesInMetafile(metafile);
    expect(expected.size, BUILD_HINT).toBeGreaterThan(5);
    expect([...expected.values()]).toContain(`@aws-sdk/client-ec2@${lock.packages['node_modules/@aws-sdk/client-ec2']?.version}`);
    const listed = new Map(bom.components.flatMap((c) => pathsOf(c).map((path) => [path, `${c.group !== undefined ? `${c.group}/` : ''}${c.name}@${c.version}`] as const)));
    expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(expected));
  });

  it('matches package-lock.json: the version and integrity npm installed at each path', () => {
    for (const c of bom.components) {
      for (const path of pathsOf(c)) {
        const entry = lock.packages[path];
        expect(entry, path).toBeDefined();
        expect(entry?.version, path).toBe(c.version);
        const sha512 = Buffer.from((entry?.integrity ?? '').replace(/^sha512-/, ''), 'base64').toString('hex');
        expect(c.hashes, path).toEqual([{ alg: 'SHA-512', content: sha512 }]);
      }
    }
    // The bundled SDK is a devDependency: exactly what `npm audit --omit=dev` cannot see.
    expect(lock.packages['node_modules/@aws-sdk/client-ec2']?.dev).toBe(true);
  });

  it('has CycloneDX 1.5 shape, with npm purls that encode the scope', () => {
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 });
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(bom.metadata.component).toMatchObject({ name: pkg.name, version: pkg.version, purl: `pkg:npm/${pkg.name}@${pkg.version}` });
    expect(bom.metadata.tools.components.map((t) => t.name)).toEqual(['esbuild']);
    const refs = bom.components.map((c) => c['bom-ref']);
    expect(new Set(refs).size).toBe(refs.length);
    for (const c of bom.components) {
      expect(c.type).toBe('library');
      expect(c['bom-ref']).toBe(c.purl);
      const name = c.group !== undefined ? `${c.group}/${c.name}` : c.name;
      expect(c.purl).toBe(npmPurl(name, c.version));
      expect(c.purl).toMatch(/^pkg:npm\/(%40[^/@]+\/)?[^/@]+@[^/@]+$/);
      if (c.group !== undefined) expect(c.group.startsWith('@')).toBe(true);
    }
    expect(refs).toContain(`pkg:npm/%40aws-sdk/client-ec2@${lock.packages['node_modules/@aws-sdk/client-ec2']?.version}`);
    expect(bom.dependencies).toEqual([{ ref: bom.metadata.component.purl, dependsOn: refs }]);
  });

  it('ships in the npm package and in the image', () => {
    expect(pkg.files).toContain(SBOM_PATH);
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoPath(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const files = ((JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]?.files ?? []).map((f) => f.path);
    expect(files).toContain(SBOM_PATH);
    expect(files.filter((f) => f.startsWith('dist/build/')), 'the metafile stays out').toEqual([]);
    const runtime = parseDockerfile(readText('deploy', 'Dockerfile')).stages.at(-1);
    const copies = (runtime?.instructions ?? []).filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toContain(`--from=build /src/${SBOM_PATH} ./${SBOM_PATH}`);
  });

  it('the build fails when the lockfile does not pin a bundled package', () => {
    const root = repoPath();
    const base = { metafile, root, pkg, tool: { name: 'esbuild', version: '0' } };
    expect(() => buildSbom({ ...base, lock })).not.toThrow();
    const first = bom.components[0];
    const path = first !== undefined ? pathsOf(first)[0] : undefined;
    expect(path).toBeDefined();
    const without: Lockfile = { packages: Object.fromEntries(Object.entries(lock.packages).filter(([k]) => k !== path)) };
    expect(() => buildSbom({ ...base, lock: without })).toThrow(`${path}) is bundled but not in package-lock.json`);
    const otherVersion: Lockfile = { packages: { ...lock.packages, [path ?? '']: { ...lock.packages[path ?? ''], version: '0.0.0-doctored' } } };
    expect(() => buildSbom({ ...base, lock: otherVersion })).toThrow('package-lock.json has 0.0.0-doctored');
    expect(lockfileProblems([{ name: 'left-pad', version: '1.3.0', path: 'node_modules/left-pad', license: undefined }], lock)).toEqual([
      'left-pad@1.3.0 (node_modules/left-pad) is bundled but not in package-lock.json',
    ]);
    // A bundle that read nothing from node_modules would claim nothing ships.
    expect(() => buildSbom({ ...base, lock, metafile: { inputs: { 'dist/providers/aws-vpc/ec2-api.js': {} } } })).toThrow('read no file from node_modules');
  });
});

describe('npm purls', () => {
  it('percent-encode the scope and leave plain names alone', () => {
    expect(npmPurl('@aws-sdk/client-ec2', '3.1.0')).toBe('pkg:npm/%40aws-sdk/client-ec2@3.1.0');
    expect(npmPurl('bowser', '2.15.0')).toBe('pkg:npm/bowser@2.15.0');
    expect(npmPurl('x', '1.0.0-rc+build')).toBe('pkg:npm/x@1.0.0-rc%2Bbuild');
  });
});
