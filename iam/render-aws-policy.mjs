#!/usr/bin/env node
/**
 * Renders iam/aws-policy.json (a template) into a policy document you can attach by hand, exactly
 * as terraform/aws renders it with templatefile(): every `${name}` is replaced by its value, and a
 * placeholder without a value, or a value without a placeholder, is an error.
 *
 *   node iam/render-aws-policy.mjs --cluster-name prod --vpc-id vpc-0123456789abcdef0 \
 *     --region eu-west-1 --account-id 111122223333 > routesync-policy.json
 *
 * --partition defaults from the region, as the AWS SDKs' partitions.json matches them: aws-cn for
 * cn-*, aws-us-gov for us-gov-*, aws-iso for us-iso-*, aws-iso-b for us-isob-*, aws-iso-e for
 * eu-isoe-*, aws-iso-f for us-isof-*, aws-eusc for eusc-*, otherwise aws.
 * No dependencies: plain Node ≥ 20.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const TEMPLATE = fileURLToPath(new URL('./aws-policy.json', import.meta.url));

/** The same checks as routesync's CLI (src/config.ts) and terraform/aws/variables.tf. */
const RULES = {
  cluster_name: [/^[a-z][-a-z0-9]{0,30}$/, 'expected [a-z][-a-z0-9]{0,30}, the value of routesync --cluster-name'],
  vpc_id: [/^vpc-[0-9a-f]{8,17}$/, 'expected a VPC id such as vpc-0123456789abcdef0'],
  region: [/^[a-z]{2,4}(-[a-z]+)+-\d+$/, 'expected a region such as eu-west-1'],
  account_id: [/^\d{12}$/, 'expected a 12-digit AWS account id'],
  partition: [/^aws(-[a-z]+)*$/, 'expected a partition such as aws, aws-cn, aws-us-gov or aws-iso-b'],
};

/** Region prefix → partition; every other region is in aws. */
const PARTITIONS = [
  ['cn-', 'aws-cn'],
  ['us-gov-', 'aws-us-gov'],
  ['us-iso-', 'aws-iso'],
  ['us-isob-', 'aws-iso-b'],
  ['eu-isoe-', 'aws-iso-e'],
  ['us-isof-', 'aws-iso-f'],
  ['eusc-', 'aws-eusc'],
];

export function partitionOf(region) {
  return PARTITIONS.find(([prefix]) => region.startsWith(prefix))?.[1] ?? 'aws';
}

/** templatefile() for the subset the policy uses: `${name}` only; directives and escapes are refused. */
export function renderTemplate(text, vars) {
  if (text.includes('%{') || text.includes('$${')) throw new Error('template directives and escapes are not supported');
  const used = new Set();
  const out = text.replace(/\$\{([^}]*)\}/g, (_, name) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsupported template expression \${${name}}`);
    if (!Object.hasOwn(vars, name)) throw new Error(`no value for \${${name}}`);
    used.add(name);
    return String(vars[name]);
  });
  for (const name of Object.keys(vars)) if (!used.has(name)) throw new Error(`value for ${name} matches no placeholder`);
  return out;
}

function main() {
  const { values } = parseArgs({
    options: {
      'cluster-name': { type: 'string', default: 'routesync' },
      'vpc-id': { type: 'string' },
      region: { type: 'string', default: process.env.AWS_REGION },
      'account-id': { type: 'string' },
      partition: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: render-aws-policy.mjs --vpc-id vpc-… --region REGION --account-id 123456789012 [--cluster-name routesync] [--partition aws]\n',
    );
    return 0;
  }
  const vars = {
    partition: values.partition ?? partitionOf(values.region ?? ''),
    region: values.region,
    account_id: values['account-id'],
    vpc_id: values['vpc-id'],
    cluster_name: values['cluster-name'],
  };
  for (const [name, [pattern, expected]] of Object.entries(RULES)) {
    const value = vars[name];
    const flag = `--${name.replace(/_/g, '-')}`;
    if (value === undefined) throw new Error(`${flag} is required`);
    if (!pattern.test(value)) throw new Error(`invalid value for ${flag}: ${JSON.stringify(value)} (${expected})`);
  }
  const policy = JSON.parse(renderTemplate(readFileSync(TEMPLATE, 'utf8'), vars));
  process.stdout.write(`${JSON.stringify(policy, null, 2)}\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = main();
  } catch (err) {
    process.stderr.write(`render-aws-policy: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
