// Build step (`npm run build`, after tsc): bundles dist/providers/aws-vpc/ec2-api.js and
// service-quotas-api.js in place with the part of the AWS SDK they use; the code both clients
// share (smithy core, credentials, HTTP) goes into one chunk beside them, loaded once. The SDK's package entry evaluates the schemas of all of EC2's
// ~750 actions at load (about 88 MiB of RSS); a tree-shaken bundle of the six actions routesync
// calls costs about 8 MiB. The SDK's documentation recommends bundling for the same reason.
//
// One transform makes the tree-shaking possible: the generated schema files write member traits
// as `{ [_xN]: … }` with `_xN` a module-level string constant. A computed key could run code, so
// the bundler keeps every schema alive; rewriting the key to the constant's own literal is exactly
// equivalent and lets it drop the unused ones. Should a future SDK change that shape, nothing
// matches and the bundle is merely larger.
//
// The bundled packages are devDependencies, invisible to `npm audit` and to scanners that read
// node_modules, so the build also writes their SBOM (bundle-sbom.mjs), and fails when
// package-lock.json does not pin one of them.
//
// Plain JavaScript: it runs before anything is compiled and only needs esbuild.
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';
import { METAFILE_PATH, SBOM_PATH, buildSbom } from './bundle-sbom.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outdir = join(root, 'dist', 'providers', 'aws-vpc');
const targets = ['ec2-api.js', 'service-quotas-api.js'].map((name) => join(outdir, name));

/** `{ [_name]: value }` → `{ "literal": value }` for the string constants `_name` of a schema file. */
const literalSchemaKeys = {
  name: 'literal-schema-keys',
  setup(bundler) {
    bundler.onLoad({ filter: /[\\/]@aws-sdk[\\/].*[\\/]schemas[\\/]schemas_\d+\.js$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      const constants = new Map();
      for (const [, name, literal] of source.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm)) constants.set(name, literal);
      const contents = source.replace(/\[(_\w+)\]:/g, (key, name) => (constants.has(name) ? `${constants.get(name)}:` : key));
      return { contents, loader: 'js' };
    });
  },
};

// Chunks of an earlier build have other hashes: remove them so that only this build's ship.
for (const name of await readdir(outdir)) if (/^aws-sdk-[A-Z0-9]+\.js$/.test(name)) await rm(join(outdir, name));

const { metafile } = await build({
  // Metafile input paths relative to the root, as package-lock.json keys them.
  absWorkingDir: root,
  metafile: true,
  entryPoints: targets,
  outdir,
  outbase: outdir,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  chunkNames: 'aws-sdk-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The SDK's ES modules, which are what tree-shakes.
  mainFields: ['module', 'main'],
  // No map: it would point at node_modules and sources the npm package does not ship.
  sourcemap: false,
  logLevel: 'warning',
  plugins: [literalSchemaKeys],
});

const readJson = async (path) => JSON.parse(await readFile(join(root, path), 'utf8'));
const sbom = buildSbom({
  metafile,
  root,
  lock: await readJson('package-lock.json'),
  pkg: await readJson('package.json'),
  tool: { name: 'esbuild', version: esbuildVersion },
});
// The metafile stays outside what ships; the SBOM test compares the two.
await mkdir(dirname(join(root, METAFILE_PATH)), { recursive: true });
await writeFile(join(root, METAFILE_PATH), `${JSON.stringify(metafile)}\n`);
await writeFile(join(root, SBOM_PATH), `${JSON.stringify(sbom, null, 2)}\n`);
