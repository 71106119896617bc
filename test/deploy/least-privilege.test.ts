/**
 * Proof of least privilege (issue 6):
 *  - iam/aws-policy.json and iam/gce-role.yaml hold exactly what routesync calls (docs/architecture.md);
 *  - the Terraform modules parse offline, are typed, described and pinned, and render THOSE files
 *    (templatefile / yamldecode of the same path), not copies;
 *  - routesync, run for real (the built CLI, a real etcd, the EC2 simulator) through every code path
 *    that touches EC2 (create, replace, delete, blackholes, SourceDestCheck, discovery by tag and
 *    --route-table-id, the route quota read from Service Quotas with --route-limit auto, the
 *    applied value denied), is allowed every call it makes by the rendered policy — resources and
 *    conditions included — and uses every action the policy allows.
 *  (GCE: least-privilege-gce.test.ts.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig, UsageError } from '../../src/config.js';
import { deleteLease, putLease, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel, type AwsCluster } from '../helpers/aws-cluster.js';
import { runRoutesync, stopAllRoutesync } from '../helpers/routesync.js';
import type { Ec2Call, Ec2World } from '../sim/ec2/world.js';
import {
  cliEnvNames,
  EC2_ACTIONS,
  evaluate,
  GCE_CALL_PERMISSIONS,
  findObject,
  isObject,
  kustomize,
  loadTfModule,
  modulePath,
  policyActions,
  readText,
  refs,
  renderTemplate,
  repoPath,
  resourceRefs,
  SERVICE_QUOTAS_ACTIONS,
  templatePlaceholders,
  validationRegexes,
  type IamPolicy,
  type IamRequest,
  type JsonObject,
  type TfModule,
} from './support.js';

const TEMPLATE_VARS = ['partition', 'region', 'account_id', 'vpc_id', 'cluster_name'];
/** The IAM actions of every call routesync makes on AWS. */
const AWS_ACTIONS = [...EC2_ACTIONS.map((a) => `ec2:${a}`), ...SERVICE_QUOTAS_ACTIONS.map((a) => `servicequotas:${a}`)];
const ROUTES_SID = 'ManageRoutesInClusterTables';
const LEGACY_SID = 'ManageRoutesInLegacyTaggedTables';

const policyTemplate = readText('iam', 'aws-policy.json');

function render(vars: Record<string, string>): IamPolicy {
  return JSON.parse(renderTemplate(policyTemplate, vars)) as IamPolicy;
}

const flat = <T>(value: T | readonly T[]): T[] => (Array.isArray(value) ? [...(value as readonly T[])] : [value as T]);

describe('iam/: the policy documents', () => {
  it('aws-policy.json is a JSON template whose placeholders are exactly the ones Terraform and the renderer fill', () => {
    const parsed = JSON.parse(policyTemplate) as IamPolicy;
    expect(parsed.Version).toBe('2012-10-17');
    expect([...templatePlaceholders(policyTemplate)].sort()).toEqual([...TEMPLATE_VARS].sort());
  });

  it('allows exactly the EC2 and Service Quotas actions routesync calls, spelled out (no wildcards), each once', () => {
    const policy = JSON.parse(policyTemplate) as IamPolicy;
    // The deprecated tag's statement repeats the route actions: IAM can only OR two tag keys with two statements.
    const legacy = policy.Statement.find((s) => s.Sid === LEGACY_SID);
    const current = policy.Statement.find((s) => s.Sid === ROUTES_SID);
    expect({ ...legacy, Sid: '', Condition: { ...legacy?.Condition, StringEquals: {} } }).toEqual({ ...current, Sid: '', Condition: { ...current?.Condition, StringEquals: {} } });
    const actions = policy.Statement.filter((s) => s.Sid !== LEGACY_SID).flatMap((s) => flat(s.Action));
    expect(actions.every((a) => !/[*?]/.test(a))).toBe(true);
    expect(new Set(actions).size).toBe(actions.length);
    expect(actions.sort()).toEqual([...AWS_ACTIONS].sort());
    expect(policy.Statement.every((s) => s.Effect === 'Allow')).toBe(true);
  });

  it('grants Resource "*" only to reads without resource types; the quota read names its quota; every write is scoped to an ARN pattern and conditioned on the VPC', () => {
    const policy = render({ partition: 'aws', region: 'eu-west-1', account_id: '111122223333', vpc_id: 'vpc-0123456789abcdef0', cluster_name: 'prod' });
    // EC2 describes and GetAWSDefaultServiceQuota support no resource-level permissions; GetServiceQuota
    // has the `quota` resource type (Service Authorization Reference, list_servicequotas.html).
    const unscoped = (a: string): boolean => a.startsWith('ec2:Describe') || a === 'servicequotas:GetAWSDefaultServiceQuota';
    for (const statement of policy.Statement) {
      const actions = flat(statement.Action);
      const resources = flat(statement.Resource);
      if (resources.includes('*')) {
        expect(actions.every(unscoped), statement.Sid).toBe(true);
        continue;
      }
      if (actions.includes('servicequotas:GetServiceQuota')) {
        expect(actions).toEqual(['servicequotas:GetServiceQuota']);
        expect(resources).toEqual(['arn:aws:servicequotas:eu-west-1:111122223333:vpc/L-93826ACB']);
        continue;
      }
      expect(resources.every((r) => r.startsWith('arn:aws:ec2:eu-west-1:111122223333:')), statement.Sid).toBe(true);
      expect(statement.Condition?.['ArnEquals']?.['ec2:Vpc']).toBe('arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0123456789abcdef0');
    }
    const routes = policy.Statement.find((s) => s.Sid === ROUTES_SID);
    expect(routes?.Resource).toBe('arn:aws:ec2:eu-west-1:111122223333:route-table/*');
    expect(routes?.Condition?.['StringEquals']).toEqual({ 'aws:ResourceTag/routesync.io/cluster/prod': ['owned', 'shared'] });
    expect(policy.Statement.find((s) => s.Sid === LEGACY_SID)?.Condition?.['StringEquals']).toEqual({ 'aws:ResourceTag/routesync/cluster': 'prod' });
    const eni = policy.Statement.find((s) => flat(s.Action).includes('ec2:ModifyNetworkInterfaceAttribute'));
    expect(eni?.Resource).toBe('arn:aws:ec2:eu-west-1:111122223333:network-interface/*');
  });

  it('the EC2 and Service Quotas commands the aws-vpc adapter imports are exactly the policy actions', () => {
    const source = readdirSync(repoPath('providers', 'aws-vpc'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readText('providers', 'aws-vpc', f))
      .join('\n');
    const commands = new Set([...source.matchAll(/\b([A-Z][A-Za-z0-9]+)Command\b/g)].map((m) => m[1] ?? ''));
    expect([...commands].sort()).toEqual([...EC2_ACTIONS, ...SERVICE_QUOTAS_ACTIONS].sort());
  });

  it('iam/render-aws-policy.mjs renders the same document as templatefile() would, and refuses bad values', () => {
    const vars = { partition: 'aws-cn', region: 'cn-north-1', account_id: '111122223333', vpc_id: 'vpc-0123456789abcdef0', cluster_name: 'prod' };
    const out = execFileSync(process.execPath, [
      repoPath('iam', 'render-aws-policy.mjs'),
      '--cluster-name', vars.cluster_name,
      '--vpc-id', vars.vpc_id,
      '--region', vars.region,
      '--account-id', vars.account_id,
    ], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
    expect(JSON.parse(out)).toEqual(render(vars));

    const bad = spawnSync(process.execPath, [repoPath('iam', 'render-aws-policy.mjs'), '--vpc-id', 'vpc-1', '--region', 'eu-west-1', '--account-id', '111122223333'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--vpc-id');
  });

  it('gce-role.yaml has exactly the permissions routesync needs: one per API call it makes', () => {
    const role = parseYaml(readText('iam', 'gce-role.yaml')) as { title?: string; description?: string; stage?: string; includedPermissions?: string[] };
    expect(role.title).toBeTruthy();
    expect(role.description).toBeTruthy();
    expect(role.stage).toBe('GA');
    const permissions = role.includedPermissions ?? [];
    expect(new Set(permissions).size).toBe(permissions.length);
    expect([...permissions].sort()).toEqual([...new Set(Object.values(GCE_CALL_PERMISSIONS).flat())].sort());
  });
});

// ---------------------------------------------------------------------------------------------

const MODULES = [
  { dir: ['terraform', 'aws'], provider: 'aws', source: 'hashicorp/aws' },
  { dir: ['terraform', 'gce'], provider: 'google', source: 'hashicorp/google' },
] as const;

function examplesOf(...dir: string[]): string[][] {
  return readdirSync(repoPath(...dir, 'examples')).map((name) => [...dir, 'examples', name]);
}

function expectTypedAndDescribed(module: TfModule): void {
  expect(Object.keys(module.variable).length).toBeGreaterThan(0);
  for (const [name, variable] of Object.entries(module.variable)) {
    expect(String(variable['type'] ?? ''), `variable ${name} has a type`).toMatch(/^\$\{.+\}$/);
    expect(String(variable['description'] ?? '').length, `variable ${name} has a description`).toBeGreaterThan(10);
  }
  for (const [name, output] of Object.entries(module.output)) {
    expect(String(output['description'] ?? '').length, `output ${name} has a description`).toBeGreaterThan(10);
    expect(output['value'], `output ${name} has a value`).toBeDefined();
  }
}

/** required_version and each provider constraint have a lower and an upper bound (or ~>). */
function expectPinned(module: TfModule, provider: string, source: string): void {
  const block = module.terraform[0];
  expect(module.terraform).toHaveLength(1);
  expect(String(block?.['required_version'] ?? '')).toMatch(/>=\s*1\.\d+/);
  const providers = (block?.['required_providers'] as JsonObject[] | undefined)?.[0] ?? {};
  const entry = providers[provider];
  expect(isObject(entry) && entry['source']).toBe(source);
  const version = isObject(entry) ? String(entry['version']) : '';
  expect(version).toMatch(/(>=\s*\d+.*<\s*\d+)|~>/);
}

describe('terraform/: the modules parse offline and follow the conventions', () => {
  for (const { dir, provider, source } of MODULES) {
    describe(dir.join('/'), () => {
      let module: TfModule;
      beforeAll(async () => {
        module = await loadTfModule(...dir);
      });

      it('has main.tf, variables.tf, outputs.tf, versions.tf, README.md and examples/', () => {
        for (const file of ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf', 'README.md']) expect(existsSync(repoPath(...dir, file)), file).toBe(true);
        expect(Object.keys(module.files).sort()).toEqual(['main.tf', 'outputs.tf', 'variables.tf', 'versions.tf']);
        expect(examplesOf(...dir).length).toBeGreaterThan(0);
      });

      it('types and describes every variable and output, and pins Terraform and the provider', () => {
        expectTypedAndDescribed(module);
        expectPinned(module, provider, source);
        for (const type of Object.keys(module.resource)) expect(type.startsWith(`${provider}_`), type).toBe(true);
      });

      it('declares every variable, local and resource it references, and uses every variable it declares', () => {
        // Used outside variables.tf (a validation's own reference does not count as a use).
        expect([...refs(module, 'var', ['main.tf', 'outputs.tf'])].sort()).toEqual(Object.keys(module.variable).sort());
        for (const local of refs(module, 'local')) expect(Object.keys(module.locals), `local.${local}`).toContain(local);
        const declared = new Set([...Object.keys(module.resource), ...Object.keys(module.data)]);
        for (const ref of resourceRefs(module, provider)) expect(declared.has(ref), ref).toBe(true);
      });

      it('documents every variable and output in its README', () => {
        const readme = readText(...dir, 'README.md');
        for (const name of [...Object.keys(module.variable), ...Object.keys(module.output)]) expect(readme, name).toContain(`\`${name}\``);
      });

      it('its examples parse, call the module with declared inputs only and give every required one', async () => {
        for (const exampleDir of examplesOf(...dir)) {
          const example = await loadTfModule(...exampleDir);
          expectTypedAndDescribed(example);
          expectPinned(example, provider, source);
          const calls = Object.values(example.module);
          expect(calls.length, exampleDir.join('/')).toBe(1);
          const call = calls[0] ?? {};
          expect(call['source']).toBe('../..');
          const inputs = Object.keys(call).filter((k) => k !== 'source');
          for (const input of inputs) expect(Object.keys(module.variable), `${exampleDir.join('/')}: ${input}`).toContain(input);
          for (const [name, variable] of Object.entries(module.variable)) {
            if (!('default' in variable)) expect(inputs, `${exampleDir.join('/')} gives ${name}`).toContain(name);
          }
          for (const text of example.strings) {
            for (const match of text.matchAll(/module\.routesync\.([a-z_]+)/g)) expect(Object.keys(module.output)).toContain(match[1]);
          }
        }
      });

      it('its routesync_env output names real ROUTESYNC_* variables', () => {
        const env = module.output['routesync_env']?.['value'];
        expect(isObject(env)).toBe(true);
        const names = Object.keys(env as JsonObject);
        expect(names).toContain('ROUTESYNC_PROVIDER');
        const real = cliEnvNames();
        for (const name of names) expect(real.has(name), name).toBe(true);
      });
    });
  }

  it('terraform/aws renders its policy from iam/aws-policy.json itself, with a value for every placeholder', async () => {
    const module = await loadTfModule('terraform', 'aws');
    expect(module.resource['aws_iam_policy.this']?.['policy']).toBe('${local.policy_json}');
    expect(module.locals['policy_json']).toBe('${jsonencode(jsondecode(templatefile(local.policy_template, local.policy_vars)))}');
    expect(modulePath(module, String(module.locals['policy_template']))).toBe(repoPath('iam', 'aws-policy.json'));
    const vars = module.locals['policy_vars'];
    expect(isObject(vars)).toBe(true);
    expect(Object.keys(vars as JsonObject).sort()).toEqual([...templatePlaceholders(policyTemplate)].sort());
    expect((vars as JsonObject)['cluster_name']).toBe('${var.cluster_name}');
    expect((vars as JsonObject)['vpc_id']).toBe('${var.vpc_id}');
    // The policy is attached to the role that the instance profile and IRSA hand out.
    expect(module.resource['aws_iam_role_policy_attachment.this']).toMatchObject({ role: '${aws_iam_role.this.name}', policy_arn: '${aws_iam_policy.this.arn}' });
    expect(module.resource['aws_iam_instance_profile.this']?.['role']).toBe('${aws_iam_role.this.name}');
    expect(module.resource['aws_ec2_tag.route_table']).toMatchObject({ key: '${local.route_table_tag_key}', value: '${var.route_table_tag_value}' });
    expect(module.locals['route_table_tag_key']).toBe('routesync.io/cluster/${var.cluster_name}');
    expect(policyTemplate).toContain('"aws:ResourceTag/routesync.io/cluster/${cluster_name}"');
    expect(validationRegexes(module.variable['route_table_tag_value'] ?? {}).map((r) => ['owned', 'shared', 'true'].filter((v) => new RegExp(r).test(v)))).toEqual([['owned', 'shared']]);
  });

  it('terraform/gce reads its custom role from iam/gce-role.yaml itself', async () => {
    const module = await loadTfModule('terraform', 'gce');
    const match = /^\$\{yamldecode\(file\("(.+)"\)\)\}$/.exec(String(module.locals['role_definition']));
    expect(match).not.toBeNull();
    expect(modulePath(module, match?.[1] ?? '')).toBe(repoPath('iam', 'gce-role.yaml'));
    const role = module.resource['google_project_iam_custom_role.this'] ?? {};
    const yamlKeys = Object.keys(parseYaml(readText('iam', 'gce-role.yaml')) as object);
    for (const [attribute, key] of Object.entries({ permissions: 'includedPermissions', title: 'title', description: 'description', stage: 'stage' })) {
      expect(role[attribute]).toBe(`\${local.role_definition.${key}}`);
      expect(yamlKeys).toContain(key);
    }
    expect(module.resource['google_project_iam_member.this']).toMatchObject({
      role: '${google_project_iam_custom_role.this.name}',
      member: 'serviceAccount:${google_service_account.this.email}',
    });
  });

  it('validates cluster_name, vpc_id, route table ids, project and network exactly as the CLI does', async () => {
    const aws = await loadTfModule('terraform', 'aws');
    const gce = await loadTfModule('terraform', 'gce');
    const accepts = (variable: JsonObject | undefined, value: string): boolean =>
      validationRegexes(variable ?? {}).every((source) => new RegExp(source).test(value));
    const cli = (flags: string[]): boolean => {
      try {
        parseConfig(flags, {}, () => undefined);
        return true;
      } catch (err) {
        if (err instanceof UsageError) return false;
        throw err;
      }
    };
    const awsBase = ['--provider', 'aws-vpc', '--aws-region', 'eu-west-1'];
    const gceBase = ['--provider', 'gce'];
    const cases: Array<[JsonObject | undefined, (v: string) => string[], string[]]> = [
      [aws.variable['cluster_name'], (v) => [...awsBase, '--vpc-id', 'vpc-0123456789abcdef0', '--cluster-name', v], ['prod', 'a', 'k8s-eu-1', 'Prod', '1prod', 'a'.repeat(31), 'a'.repeat(32), 'prod_1', '']],
      [gce.variable['cluster_name'], (v) => [...gceBase, '--gce-project', 'my-project-123', '--cluster-name', v], ['prod', 'x-', 'Prod', 'a'.repeat(32)]],
      [aws.variable['vpc_id'], (v) => [...awsBase, '--vpc-id', v], ['vpc-0123456789abcdef0', 'vpc-01234567', 'vpc-0123456', 'vpc-0123456789ABCDEF0', 'vpc-0123456789abcdef01', 'subnet-01234567']],
      [aws.variable['tag_route_table_ids'], (v) => [...awsBase, '--route-table-id', v], ['rtb-0123456789abcdef0', 'rtb-01234567', 'rtb-0123', 'rtb-0123456789abcdefg']],
      [gce.variable['project_id'], (v) => [...gceBase, '--gce-project', v], ['my-project-123', 'abcdef', 'abcde', 'My-project', 'my-project-', `a${'b'.repeat(29)}`, `a${'b'.repeat(30)}`]],
      [gce.variable['network'], (v) => [...gceBase, '--gce-project', 'my-project-123', '--gce-network', v], ['default', 'net-1', 'Net', 'net-', 'a'.repeat(63), 'a'.repeat(64)]],
    ];
    for (const [variable, flags, samples] of cases) {
      expect(validationRegexes(variable ?? {}).length).toBeGreaterThan(0);
      for (const sample of samples) {
        expect(accepts(variable, sample), `${flags(sample).join(' ')}`).toBe(cli(flags(sample)));
      }
    }
  });

  it('the service accounts trusted by default are the one deploy/kubernetes creates', async () => {
    const aws = await loadTfModule('terraform', 'aws');
    const gce = await loadTfModule('terraform', 'gce');
    const account = findObject(kustomize('deploy', 'kubernetes', 'aws').objects, 'ServiceAccount');
    expect(aws.variable['service_account_namespace']?.['default']).toBe(account.metadata.namespace);
    expect(aws.variable['service_account_name']?.['default']).toBe(account.metadata.name);
    expect(gce.variable['kubernetes_namespace']?.['default']).toBe(account.metadata.namespace);
    expect(gce.variable['kubernetes_service_account']?.['default']).toBe(account.metadata.name);
    const trust = JSON.stringify(aws.data['data.aws_iam_policy_document.assume_role']);
    expect(trust).toContain('system:serviceaccount:${var.service_account_namespace}:${var.service_account_name}');
    expect(trust).toContain('sts:AssumeRoleWithWebIdentity');
    expect(trust).toContain('ec2.${data.aws_partition.current.dns_suffix}');
  });
});

// ---------------------------------------------------------------------------------------------

interface ObservedCall {
  readonly scenario: string;
  readonly call: Ec2Call;
  readonly request: IamRequest;
}

/**
 * The IAM request AWS would authorize for a call the simulator saw, with the resource's condition keys now.
 * Service Quotas calls come on the same port as JSON 1.1 (`X-Amz-Target: ServiceQuotasV20190624.<Action>`);
 * the simulator logs them under their action with the body's ServiceCode and QuotaCode as params.
 */
function iamRequestFor(world: Ec2World, call: Ec2Call): IamRequest {
  const arn = (type: string, id: string): string => `arn:aws:ec2:${world.region}:${world.accountId}:${type}/${id}`;
  switch (call.action) {
    case 'GetServiceQuota':
      return {
        action: `servicequotas:${call.action}`,
        resource: `arn:aws:servicequotas:${world.region}:${world.accountId}:${call.params['ServiceCode'] ?? ''}/${call.params['QuotaCode'] ?? ''}`,
        context: {},
      };
    case 'GetAWSDefaultServiceQuota':
      return { action: `servicequotas:${call.action}`, resource: '*', context: {} };
    default:
      break;
  }
  const tagKeys = (tags: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(Object.entries(tags).flatMap(([k, v]) => [[`aws:ResourceTag/${k}`, v], [`ec2:ResourceTag/${k}`, v]]));
  const action = `ec2:${call.action}`;
  switch (call.action) {
    case 'DescribeRouteTables':
    case 'DescribeNetworkInterfaces':
    case 'DescribeTags':
    case 'DescribeManagedPrefixLists':
      return { action, resource: '*', context: { 'ec2:Region': world.region } };
    case 'CreateRoute':
    case 'ReplaceRoute':
    case 'DeleteRoute': {
      const id = call.params['RouteTableId'] ?? '';
      const table = world.routeTable(id);
      return { action, resource: arn('route-table', id), context: { 'ec2:Region': world.region, 'ec2:Vpc': arn('vpc', table.vpcId), ...tagKeys(table.tags) } };
    }
    case 'ModifyNetworkInterfaceAttribute': {
      const id = call.params['NetworkInterfaceId'] ?? '';
      const eni = world.networkInterface(id);
      return {
        action,
        resource: arn('network-interface', id),
        context: { 'ec2:Region': world.region, 'ec2:Vpc': arn('vpc', eni.vpcId), 'ec2:Subnet': arn('subnet', eni.subnetId), ...tagKeys(eni.tags) },
      };
    }
    default:
      throw new Error(`routesync called ${call.action}: map it to its IAM resource here and add it to iam/aws-policy.json if it is really needed`);
  }
}

describe('AWS: the rendered policy allows every EC2 call routesync makes, and nothing it does not use', () => {
  const CLUSTER = 'routesync';
  const NODE_TAG = `kubernetes.io/cluster/${CLUSTER}=owned`;
  let etcd: EtcdServer;
  let cluster: AwsCluster;
  let policy: IamPolicy;
  let otherClusterTable = '';
  let otherVpcTable = '';
  let legacyTable = '';
  const observed: ObservedCall[] = [];
  const exitCodes: Record<string, number | null> = {};

  beforeAll(async () => {
    etcd = await startEtcd();
    cluster = await startAwsCluster({ nodes: 4, clusterName: CLUSTER, sim: { throttling: false } });
    const world = cluster.world;
    policy = render({ partition: 'aws', region: world.region, account_id: world.accountId, vpc_id: cluster.vpcId, cluster_name: CLUSTER });
    // A second managed table, still on the deprecated tag; a table of another cluster in the same VPC;
    // a table tagged for this cluster in another VPC. routesync may touch the two managed tables only.
    const second = world.createRouteTable({ vpcId: cluster.vpcId, tags: { 'routesync/cluster': CLUSTER } });
    otherClusterTable = world.createRouteTable({ vpcId: cluster.vpcId, tags: { 'routesync.io/cluster/other': 'shared', 'routesync/cluster': 'other' } }).routeTableId;
    const otherVpc = world.createVpc({ cidr: '172.30.0.0/16' });
    otherVpcTable = world.createRouteTable({ vpcId: otherVpc.vpcId, tags: { [`routesync.io/cluster/${CLUSTER}`]: 'owned' } }).routeTableId;
    legacyTable = second.routeTableId;
    // A route to a managed prefix list in a managed table: routesync reads its MaxEntries (DescribeManagedPrefixLists).
    const list = world.createManagedPrefixList({ prefixListName: 'offices', maxEntries: 5 });
    world.addForeignRoute(cluster.tableId, { destinationPrefixListId: list.prefixListId, gatewayId: 'igw-0aaaaaaaaaaaaaaa1' });

    const prefix = '/least-privilege/coreos.com/network';
    const collect = (scenario: string): void => {
      for (const call of world.calls()) observed.push({ scenario, call, request: iamRequestFor(world, call) });
      world.clearCalls();
    };
    // `auto`: no --route-limit, so routesync reads the quota from Service Quotas; else --route-limit 50.
    const once = async (scenario: string, extra: string[] = [], auto = false): Promise<void> => {
      // --node-tag on instances (not ENIs): node eligibility reads the instances' tags (DescribeTags).
      const args = ['--once', '--cluster-name', CLUSTER, '--max-deletes-per-pass', '100%', '--node-tag', NODE_TAG, ...extra];
      const result = await runRoutesync(clusterArgs(auto ? { ...cluster, autoLimit: true } : cluster, etcd.endpoint, prefix, args));
      exitCodes[scenario] = result.code;
      if (result.code !== 0 && result.code !== 3) throw new Error(`${scenario}: routesync exited ${result.code}\n${result.stderr}`);
      collect(scenario);
    };
    const [n1, n2, n3, n4] = cluster.nodes;
    if (n1 === undefined || n2 === undefined || n3 === undefined || n4 === undefined) throw new Error('four nodes expected');
    const tagNode = (instanceId: string): void => world.setResourceTags(instanceId, { [NODE_TAG.split('=')[0] ?? '']: 'owned' });
    for (const node of cluster.nodes) tagNode(node.instanceId);

    // 1. create: routes in both managed tables, SourceDestCheck off on every node's ENI.
    await writeFlannel(etcd.client, prefix, cluster.nodes);
    await once('create');
    // 2. replace: a lease moves to another node.
    await putLease(etcd.client, prefix, n1.subnet, n3.ip);
    await once('replace');
    // 3. delete: a lease expires, and a node is terminated (its route turns blackhole; its lease is reported).
    await deleteLease(etcd.client, prefix, n4.subnet);
    world.terminateInstance(n2.instanceId);
    await once('delete');
    // 4. explicit --route-table-id (describes by id) and a new node whose ENI still checks source/dest.
    const n5 = cluster.addNode();
    tagNode(n5.instanceId);
    await putLease(etcd.client, prefix, n5.subnet, n5.ip);
    await once('route-table-id', ['--route-table-id', `${cluster.tableId},${second.routeTableId}`]);
    // 5. --route-limit auto: GetServiceQuota; then, with it denied, GetAWSDefaultServiceQuota.
    await once('auto', [], true);
    world.setServiceQuotasAccess({ GetServiceQuota: 'deny' });
    await once('auto-denied', [], true);
    world.setServiceQuotasAccess({ GetServiceQuota: 'allow' });
  });

  afterAll(async () => {
    await stopAllRoutesync();
    await cluster?.close();
    await etcd?.stop();
  });

  it('ran every scenario and exercised every kind of EC2 call', () => {
    expect(exitCodes).toEqual({ create: 0, replace: 0, delete: 3, 'route-table-id': 3, auto: 3, 'auto-denied': 3 });
    const ok = (action: string, scenario?: string): number =>
      observed.filter((o) => o.call.action === action && o.call.httpStatus === 200 && (scenario === undefined || o.scenario === scenario)).length;
    expect(ok('CreateRoute', 'create')).toBe(8); // 4 leases × 2 tables
    expect(ok('ModifyNetworkInterfaceAttribute', 'create')).toBe(4);
    expect(ok('ReplaceRoute', 'replace')).toBe(2);
    expect(ok('DeleteRoute', 'delete')).toBe(4); // (expired lease + blackhole) × 2 tables
    expect(ok('CreateRoute', 'route-table-id')).toBe(2);
    expect(ok('ModifyNetworkInterfaceAttribute', 'route-table-id')).toBe(1);
    // The node tag is on the instances: one DescribeTags per pass reads them all.
    for (const scenario of ['create', 'replace', 'delete', 'route-table-id']) expect(ok('DescribeTags', scenario), scenario).toBe(1);
    // A --route-limit number reads no quota; auto reads the applied one, or AWS's default when that is denied.
    const quotaCalls = (scenario: string): string[] =>
      observed.filter((o) => o.scenario === scenario && o.request.action.startsWith('servicequotas:')).map((o) => `${o.call.action} ${o.call.errorCode ?? o.call.httpStatus}`);
    for (const scenario of ['create', 'replace', 'delete', 'route-table-id']) expect(quotaCalls(scenario), scenario).toEqual([]);
    expect(quotaCalls('auto')).toEqual(['GetServiceQuota 200']);
    expect(quotaCalls('auto-denied')).toEqual(['GetServiceQuota AccessDeniedException', 'GetAWSDefaultServiceQuota 200']);
    expect(observed.every((o) => o.call.fault === undefined)).toBe(true);
  });

  it('every call routesync made is allowed by the rendered policy — actions, resources and conditions', () => {
    expect(observed.length).toBeGreaterThan(0);
    const denied = observed.filter((o) => evaluate(policy, o.request) !== 'allow').map((o) => `${o.scenario}: ${o.request.action} ${o.request.resource}`);
    expect(denied).toEqual([]);
  });

  it('every action the policy allows was used', () => {
    const used = new Set(observed.filter((o) => o.call.httpStatus === 200).map((o) => o.request.action));
    expect([...policyActions(policy)].sort()).toEqual([...used].sort());
  });

  it('routesync left the other cluster\'s table and the other VPC alone — and the policy would have refused them', () => {
    const touched = new Set(observed.filter((o) => o.call.params['RouteTableId'] !== undefined && !o.call.action.startsWith('Describe')).map((o) => o.call.params['RouteTableId']));
    expect(touched.has(otherClusterTable)).toBe(false);
    expect(touched.has(otherVpcTable)).toBe(false);
    const world = cluster.world;
    for (const table of [otherClusterTable, otherVpcTable]) {
      const request = iamRequestFor(world, { action: 'CreateRoute', params: { RouteTableId: table } } as unknown as Ec2Call);
      expect(evaluate(policy, request), table).toBe('implicit-deny');
    }
  });

  it('the conditions bite: the same calls with another tag, VPC, region or no tag are refused', () => {
    const write = observed.find((o) => o.call.action === 'CreateRoute' && o.call.params['RouteTableId'] === cluster.tableId)?.request;
    const legacyWrite = observed.find((o) => o.call.action === 'CreateRoute' && o.call.params['RouteTableId'] === legacyTable)?.request;
    const eni = observed.find((o) => o.call.action === 'ModifyNetworkInterfaceAttribute')?.request;
    if (write === undefined || legacyWrite === undefined || eni === undefined) throw new Error('no CreateRoute/ModifyNetworkInterfaceAttribute observed');
    expect(evaluate(policy, write)).toBe('allow');
    expect(evaluate(policy, legacyWrite)).toBe('allow');
    const key = `aws:ResourceTag/routesync.io/cluster/${CLUSTER}`;
    expect(evaluate(policy, { ...write, context: { ...write.context, [key]: 'shared' } })).toBe('allow');
    const otherVpc = write.context['ec2:Vpc']?.replace(/vpc-[0-9a-f]+$/, 'vpc-0fedcba9876543210') ?? '';
    const withoutTag = Object.fromEntries(Object.entries(write.context).filter(([k]) => !k.includes('ResourceTag')));
    expect(evaluate(policy, { ...write, context: { ...write.context, [key]: 'true' } })).toBe('implicit-deny');
    expect(evaluate(policy, { ...legacyWrite, context: { ...legacyWrite.context, 'aws:ResourceTag/routesync/cluster': 'other' } })).toBe('implicit-deny');
    expect(evaluate(policy, { ...write, context: { ...write.context, 'ec2:Vpc': otherVpc } })).toBe('implicit-deny');
    expect(evaluate(policy, { ...write, context: withoutTag })).toBe('implicit-deny');
    expect(evaluate(policy, { ...write, resource: write.resource.replace(`:${cluster.world.region}:`, ':ap-south-1:') })).toBe('implicit-deny');
    expect(evaluate(policy, { ...eni, context: { ...eni.context, 'ec2:Vpc': otherVpc } })).toBe('implicit-deny');
    const quota = observed.find((o) => o.call.action === 'GetServiceQuota')?.request;
    if (quota === undefined) throw new Error('no GetServiceQuota observed');
    expect(evaluate(policy, quota)).toBe('allow');
    // Another quota (EC2's On-Demand vCPUs), or the same one in another region, is not readable.
    expect(evaluate(policy, { ...quota, resource: quota.resource.replace('vpc/L-93826ACB', 'ec2/L-1216C47A') })).toBe('implicit-deny');
    expect(evaluate(policy, { ...quota, resource: quota.resource.replace(`:${cluster.world.region}:`, ':ap-south-1:') })).toBe('implicit-deny');
    for (const action of ['ec2:DeleteRouteTable', 'ec2:CreateTags', 'ec2:RunInstances', 'ec2:ModifyInstanceAttribute', 'iam:PassRole', 'servicequotas:RequestServiceQuotaIncrease']) {
      expect(evaluate(policy, { action, resource: '*', context: {} }), action).toBe('implicit-deny');
    }
  });
});
