/**
 * What ships besides the code: the npm package (`npm pack` contents, license, metadata, source
 * maps), Terraform formatting (`terraform fmt`), the Dockerfile's digest pin, and the partitions
 * iam/render-aws-policy.mjs infers from a region.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseDockerfile, readText, repoPath } from './support.js';

const pkg = JSON.parse(readText('package.json')) as {
  license: string;
  bin: Record<string, string>;
  repository?: { type: string; url: string };
  homepage?: string;
  bugs?: { url: string };
};

function packedFiles(): string[] {
  // --ignore-scripts: pack would run `prepare` (the build); the tests run on the build npm test made.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoPath(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [result] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
  return (result?.files ?? []).map((f) => f.path);
}

describe('the npm package', () => {
  const files = packedFiles();

  it('holds the CLI, the providers, iam/ and the Apache-2.0 LICENSE that package.json names', () => {
    expect(files).toContain(pkg.bin['routesync']);
    expect(files).toContain('dist/providers/aws-vpc/ec2-api.js');
    expect(files).toContain('iam/aws-policy.json');
    expect(files).toContain('LICENSE');
    expect(pkg.license).toBe('Apache-2.0');
    const license = readText('LICENSE');
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004\s/);
    expect(license).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(license).toContain('END OF TERMS AND CONDITIONS');
  });

  it('names its repository, homepage and issue tracker', () => {
    expect(pkg.repository?.type).toBe('git');
    const repo = /^git\+(https:\/\/github\.com\/[\w.-]+\/[\w.-]+)\.git$/.exec(pkg.repository?.url ?? '')?.[1];
    expect(repo, pkg.repository?.url).toBeDefined();
    expect(pkg.homepage?.startsWith(repo ?? '-')).toBe(true);
    expect(pkg.bugs?.url).toBe(`${repo}/issues`);
  });

  it('ships no source map, nor a sourceMappingURL to a file it does not ship', () => {
    const js = files.filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(10);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    const dangling = js.filter((f) => {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readText(f))?.[1];
      return url !== undefined && !url.startsWith('data:') && !files.includes(`${f.replace(/[^/]+$/, '')}${url}`);
    });
    expect(dangling, 'run `npm run build` (npm test does)').toEqual([]);
  });
});

describe.skipIf(spawnSync('terraform', ['version'], { stdio: 'ignore' }).status !== 0)('terraform/', () => {
  it('is formatted: terraform fmt -check -recursive', () => {
    const result = spawnSync('terraform', ['fmt', '-check', '-recursive', 'terraform'], {
      cwd: repoPath(),
      encoding: 'utf8',
      env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' },
    });
    expect(result.status, `files to format:\n${result.stdout}`).toBe(0);
  });
});

describe('deploy/Dockerfile base image', () => {
  const text = readText('deploy', 'Dockerfile');

  it('can be pinned by digest with --build-arg NODE_IMAGE_DIGEST=@sha256:…, and is unpinned by default', () => {
    const dockerfile = parseDockerfile(text);
    expect(dockerfile.globalArgs['NODE_IMAGE_DIGEST']).toBe('');
    expect(text).toContain('--build-arg NODE_IMAGE_DIGEST=@sha256:');
    const digest = `@sha256:${'0123456789abcdef'.repeat(4)}`;
    const pinned = parseDockerfile(text.replace(/^ARG NODE_IMAGE_DIGEST=$/m, `ARG NODE_IMAGE_DIGEST=${digest}`));
    expect(pinned.stages.length).toBe(dockerfile.stages.length);
    for (const [index, stage] of pinned.stages.entries()) {
      expect(stage.image).toBe(`${dockerfile.stages[index]?.image}${digest}`);
      // name:tag@sha256:<64 hex>, the reference form docker accepts.
      expect(stage.image).toMatch(/^[a-z0-9._/-]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
    }
  });
});

describe('iam/render-aws-policy.mjs', () => {
  const render = (region: string, extra: string[] = []): { status: number | null; arns: string[]; stderr: string } => {
    const result = spawnSync(
      process.execPath,
      [repoPath('iam', 'render-aws-policy.mjs'), '--vpc-id', 'vpc-0123456789abcdef0', '--region', region, '--account-id', '111122223333', ...extra],
      { encoding: 'utf8' },
    );
    const arns = [...result.stdout.matchAll(/"(arn:[^"]+)"/g)].map((m) => m[1] ?? '');
    return { status: result.status, arns, stderr: result.stderr };
  };

  it.each([
    ['eu-west-1', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
    ['us-iso-east-1', 'aws-iso'],
    ['us-isob-east-1', 'aws-iso-b'],
    ['eu-isoe-west-1', 'aws-iso-e'],
    ['us-isof-south-1', 'aws-iso-f'],
    ['eusc-de-east-1', 'aws-eusc'],
  ])('infers the partition of %s: %s', (region, partition) => {
    const { status, arns, stderr } = render(region);
    expect(status, stderr).toBe(0);
    expect(arns.length).toBeGreaterThan(0);
    // EC2 resources, and the one Service Quotas quota GetServiceQuota reads.
    for (const arn of arns) expect(new RegExp(`^arn:${partition}:(ec2|servicequotas):${region}:111122223333:`).test(arn), arn).toBe(true);
  });

  it('takes --partition over the inferred one', () => {
    const { status, arns } = render('us-isob-east-1', ['--partition', 'aws-iso']);
    expect(status).toBe(0);
    for (const arn of arns) expect(arn.startsWith('arn:aws-iso:'), arn).toBe(true);
  });
});
