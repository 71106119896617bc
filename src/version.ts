/**
 * What build this is: the version from package.json (found next to the code, in a checkout, the
 * npm package and the image alike) and the commit it was built from, which the build passes in
 * ROUTESYNC_BUILD_COMMIT (deploy/Dockerfile sets it from a build argument), else "unknown".
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUILD_COMMIT_ENV = 'ROUTESYNC_BUILD_COMMIT';

function packageVersion(): string {
  // src/version.ts in a checkout, dist/src/version.js when built: walk up to our package.json.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth += 1) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'routesync' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: go up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export const VERSION = packageVersion();

export function buildCommit(env: NodeJS.ProcessEnv = process.env): string {
  const commit = env[BUILD_COMMIT_ENV]?.trim() ?? '';
  return commit === '' ? 'unknown' : commit;
}
