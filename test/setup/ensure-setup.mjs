// Runs before `npm test` and `npm run demo` (pretest/predemo): installs what a fresh machine
// lacks — the npm dependencies and Debian's etcd-server — or says exactly what to run.
// Plain JavaScript with no dependencies, because it runs before they are installed.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(command, args) {
  console.error(`setup: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return result.status === 0;
}

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) {
    console.error('setup: `npm ci` failed; run it yourself in the repository and try again');
    process.exit(1);
  }
}
if (!existsSync(join(root, 'dist', 'src', 'cli.js'))) {
  if (!run('npm', ['run', 'build'])) process.exit(1);
}

if (!has('etcd')) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && has('apt-get')) {
    if (!run('apt-get', ['update', '-qq']) || !run('apt-get', ['install', '-y', '-qq', 'etcd-server'])) {
      console.error('setup: installing etcd-server failed; run: apt-get update && apt-get install -y etcd-server');
      process.exit(1);
    }
  } else {
    console.error('setup: etcd is not installed. Run: sudo apt-get update && sudo apt-get install -y etcd-server');
    process.exit(1);
  }
}
