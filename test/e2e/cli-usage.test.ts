/** The CLI contract as a process: --help, and exit 2 with a message naming the bad flag and value. */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRoutesync } from '../helpers/routesync.js';

const AWS = ['--provider', 'aws-vpc', '--route-table-id', 'rtb-0123456789abcdef0', '--aws-region', 'us-east-1', '--listen', ''];

describe('routesync command line', () => {
  it('--help lists every flag with its default and exits 0', async () => {
    const result = await runRoutesync(['--help']);
    expect(result.code).toBe(0);
    for (const text of ['--provider', '--etcd-endpoints', '--cluster-name', '--route-limit', '--resync-interval', '--dry-run', '--once', '--leader-elect', '--listen', '--route-table-id', '--vpc-id', '--aws-endpoint', 'default: "60s"', 'default: "/coreos.com/network"']) {
      expect(result.stdout).toContain(text);
    }
  });

  it.each([
    [['--provider', 'azure'], '--provider', 'azure'],
    [[...AWS, '--resync-interval', 'soon'], '--resync-interval', 'soon'],
    [[...AWS, '--route-limit', '-3'], '--route-limit', '-3'],
    [[...AWS, '--cluster-name', 'UPPER'], '--cluster-name', 'UPPER'],
    [[...AWS, '--etcd-endpoints', 'etcd:2379'], '--etcd-endpoints', 'etcd:2379'],
    [[...AWS, '--no-such-flag'], '--no-such-flag', ''],
  ])('exits 2 for %j, naming %s', async (args, flag, value) => {
    const result = await runRoutesync(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(flag);
    expect(result.stderr).toContain(value);
    expect(result.stdout).toBe('');
  });

  it('reads flags from ROUTESYNC_* environment variables', async () => {
    const result = await runRoutesync(AWS, { ROUTESYNC_LOG_LEVEL: 'chatty' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ROUTESYNC_LOG_LEVEL (--log-level)');
    expect(result.stderr).toContain('chatty');
  });
});

describe('routesync --version', () => {
  it('prints the package version and exits 0', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await runRoutesync(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${pkg.version}\n`);
  });
});

describe('a ROUTESYNC_* variable that is no setting', () => {
  it('exits 2 naming it, its value and the variable meant, before anything runs', async () => {
    const result = await runRoutesync(AWS, { ROUTESYNC_DRYRUN: 'true' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ROUTESYNC_DRYRUN="true"');
    expect(result.stderr).toContain('did you mean ROUTESYNC_DRY_RUN?');
    expect(result.stdout).toBe('');
  });
});

describe('TLS files for etcd', () => {
  let dir = '';
  const file = (name: string): string => join(dir, name);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'routesync-tls-usage-'));
    const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    for (const name of ['a', 'b']) ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=${name}`);
    writeFileSync(file('garbage.pem'), 'not a certificate\n');
    const pem = readFileSync(file('a.pem'), 'utf8');
    writeFileSync(file('truncated.pem'), pem.replace(/\n[A-Za-z0-9+/=]+\n-----END/, '\n-----END'));
    mkdirSync(file('a-directory'));
    writeFileSync(file('unreadable.pem'), pem);
    chmodSync(file('unreadable.pem'), 0o000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Array<[string, () => string[], string, string]> = [
    ['a missing CA file', () => ['--etcd-cafile', file('missing.pem')], '--etcd-cafile', 'no such file'],
    ['a directory as CA file', () => ['--etcd-cafile', file('a-directory')], '--etcd-cafile', 'is a directory'],
    ['a CA file that is no PEM', () => ['--etcd-cafile', file('garbage.pem')], '--etcd-cafile', 'no PEM certificate'],
    ['a truncated certificate', () => ['--etcd-certfile', file('truncated.pem'), '--etcd-keyfile', file('a.key')], '--etcd-certfile', 'does not parse'],
    ['a certificate as key', () => ['--etcd-certfile', file('a.pem'), '--etcd-keyfile', file('a.pem')], '--etcd-keyfile', 'no PEM private key'],
    ['the key of another certificate', () => ['--etcd-certfile', file('a.pem'), '--etcd-keyfile', file('b.key')], '--etcd-keyfile', 'not the key of the certificate'],
  ];
  // root reads any file: the mode 000 case only means something for other users.
  if (process.getuid?.() !== 0) cases.push(['an unreadable key', () => ['--etcd-certfile', file('a.pem'), '--etcd-keyfile', file('unreadable.pem')], '--etcd-keyfile', 'permission denied']);

  it.each(cases)('%s: exit 2, one line naming the flag and the path, no stack trace', async (_name, args, flag, why) => {
    const argv = args();
    const path = argv[argv.indexOf(flag) + 1] ?? '';
    const result = await runRoutesync([...AWS, '--once', ...argv]);
    expect(result.code, result.stderr).toBe(2);
    const first = result.stderr.split('\n')[0] ?? '';
    expect(first).toContain(flag);
    expect(first).toContain(path);
    expect(first).toContain(why);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('names the environment variable when the path came from one', async () => {
    const result = await runRoutesync([...AWS, '--once'], { ROUTESYNC_ETCD_CAFILE: file('missing.pem') });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`ROUTESYNC_ETCD_CAFILE (--etcd-cafile): ${JSON.stringify(file('missing.pem'))}`);
  });
});
