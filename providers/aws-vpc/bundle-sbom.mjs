// The SBOM of what bundle-sdk.mjs copies into dist/: @aws-sdk/client-ec2 is a devDependency, so
// neither `npm audit` of the installed package nor an image scanner that reads node_modules sees
// the SDK code that runs. This file lists it, as CycloneDX 1.5 JSON, from esbuild's metafile.
//
// Plain JavaScript, like bundle-sdk.mjs; types in bundle-sbom.d.mts for the tests.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the SBOM and the metafile it is made from are written, relative to the repository root. */
export const SBOM_PATH = 'dist/bundled-sbom.cdx.json';
export const METAFILE_PATH = 'dist/build/ec2-api.metafile.json';

/** The package directory of a bundled file: everything up to the package after the last node_modules/. */
const PACKAGE_DIR = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//;

/**
 * Every package esbuild read a file of, with the version from that package's own package.json.
 * Inputs tree-shaken to zero bytes are listed too: an audit should over-report, never miss.
 */
export function bundledPackages(metafile, root) {
  const byDir = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const dir = PACKAGE_DIR.exec(input.replaceAll('\\', '/'))?.[1];
    if (dir === undefined || byDir.has(dir)) continue;
    const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    if (typeof manifest.name !== 'string' || typeof manifest.version !== 'string') {
      throw new Error(`${dir}/package.json has no name or version`);
    }
    byDir.set(dir, { name: manifest.name, version: manifest.version, path: dir, license: typeof manifest.license === 'string' ? manifest.license : undefined });
  }
  return [...byDir.values()].sort((a, b) => a.path.localeCompare(b.path));
}

/** Problems that fail the build: a bundled package the lockfile does not pin at that path and version. */
export function lockfileProblems(packages, lock) {
  const problems = [];
  for (const p of packages) {
    const entry = lock.packages?.[p.path];
    if (entry === undefined) problems.push(`${p.name}@${p.version} (${p.path}) is bundled but not in package-lock.json`);
    else if (entry.version !== p.version) problems.push(`${p.name}@${p.version} (${p.path}) is bundled but package-lock.json has ${entry.version ?? 'no version'}`);
  }
  return problems;
}

/** `pkg:npm/%40scope/name@version`: the purl spec percent-encodes the scope's `@`. */
export function npmPurl(name, version) {
  const [scope, bare] = name.startsWith('@') ? [name.slice(0, name.indexOf('/')), name.slice(name.indexOf('/') + 1)] : [undefined, name];
  const ns = scope === undefined ? '' : `${encodeURIComponent(scope)}/`;
  return `pkg:npm/${ns}${encodeURIComponent(bare)}@${encodeURIComponent(version)}`;
}

/** The lockfile's sha512 integrity as a CycloneDX hash: ties each component to the tarball npm verified. */
function hashesOf(integrity) {
  return (integrity ?? '')
    .split(/\s+/)
    .filter((i) => i.startsWith('sha512-'))
    .map((i) => ({ alg: 'SHA-512', content: Buffer.from(i.slice(7), 'base64').toString('hex') }));
}

/**
 * The CycloneDX 1.5 document. No timestamp, and a serial number derived from the content, so the
 * same build makes the same bytes. Throws when the lockfile does not pin a bundled package.
 */
export function buildSbom({ metafile, root, lock, pkg, tool }) {
  const packages = bundledPackages(metafile, root);
  if (packages.length === 0) {
    // An empty list would claim nothing ships: the input was already bundled (run the whole `npm run build`).
    throw new Error('the bundle read no file from node_modules: are dist/providers/aws-vpc/ec2-api.js and service-quotas-api.js already bundled?');
  }
  const problems = lockfileProblems(packages, lock);
  if (problems.length > 0) throw new Error(`bundled packages not pinned by package-lock.json:\n  ${problems.join('\n  ')}`);

  const components = new Map();
  for (const p of packages) {
    const purl = npmPurl(p.name, p.version);
    const existing = components.get(purl);
    if (existing !== undefined) {
      existing.properties.push({ name: 'routesync:lockfile-path', value: p.path });
      continue;
    }
    const slash = p.name.indexOf('/');
    const hashes = hashesOf(lock.packages[p.path].integrity);
    components.set(purl, {
      type: 'library',
      'bom-ref': purl,
      ...(p.name.startsWith('@') ? { group: p.name.slice(0, slash), name: p.name.slice(slash + 1) } : { name: p.name }),
      version: p.version,
      scope: 'required',
      purl,
      ...(hashes.length > 0 ? { hashes } : {}),
      ...(p.license !== undefined ? { licenses: [{ expression: p.license }] } : {}),
      properties: [{ name: 'routesync:lockfile-path', value: p.path }],
    });
  }
  const list = [...components.values()];
  const self = npmPurl(pkg.name, pkg.version);
  const digest = createHash('sha256').update(JSON.stringify([self, ...list.map((c) => c.purl)])).digest('hex');
  // RFC 4122 layout (version 5 nibble, variant 10xx) as CycloneDX's serialNumber pattern requires.
  const uuid = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-5${digest.slice(13, 16)}-${((parseInt(digest[16], 16) & 0x3) | 0x8).toString(16)}${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${uuid}`,
    version: 1,
    metadata: {
      tools: { components: [{ type: 'application', name: tool.name, version: tool.version }] },
      component: { type: 'application', 'bom-ref': self, name: pkg.name, version: pkg.version, purl: self, ...(pkg.license ? { licenses: [{ expression: pkg.license }] } : {}) },
      properties: [{ name: 'routesync:scope', value: 'packages bundled into dist/providers/aws-vpc/ec2-api.js and service-quotas-api.js (and their shared chunk); the others are in node_modules and package-lock.json' }],
    },
    components: list,
    dependencies: [{ ref: self, dependsOn: list.map((c) => c['bom-ref']) }],
  };
}
