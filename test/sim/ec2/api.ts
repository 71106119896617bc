/**
 * The EC2 Query API on top of an Ec2World: one request in, one outcome out (an XML answer or a
 * connection reset). The order is EC2's: authentication, action, throttling, then the action itself.
 */
import {
  EC2_ACTIONS,
  Ec2ApiError,
  MUTATING_ACTIONS,
  type Ec2Call,
  type Ec2World,
  type SimNetworkInterface,
  type SimRoute,
  type SimRouteTable,
} from './world.js';
import { filtersParam, hasPrefix, listParam, type QueryParams } from './query.js';
import { checkFilterLimits, checkLargeAccount, paginate } from './describe-rules.js';
import type { ThrottleCategory } from './throttle.js';
import { describeTags } from './tags.js';
import type { Sleep } from '../shared/server.js';
import { el, errorDocument, set, successDocument, type XmlNode } from './xml.js';

export interface Ec2Request {
  readonly params: QueryParams;
  readonly userAgent: string;
  readonly amzUserAgent: string;
  readonly authorization: string | undefined;
}

export type Ec2Outcome =
  | { readonly kind: 'response'; readonly status: number; readonly body: string; readonly requestId: string }
  | { readonly kind: 'reset' };

export type { Sleep };

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly errorCode?: string;
  readonly applied: boolean;
}

export async function handleEc2Request(world: Ec2World, request: Ec2Request, sleep: Sleep): Promise<Ec2Outcome> {
  const seq = world.nextSeq();
  const time = world.clock();
  const requestId = world.requestIdFor(seq);
  const action = request.params.Action ?? '';
  const base = {
    seq,
    time,
    action,
    params: { ...request.params },
    userAgent: request.userAgent,
    amzUserAgent: request.amzUserAgent,
    requestId,
  };
  const finish = (answer: Answer, fault?: Ec2Call['fault']): Ec2Outcome => {
    world.record({
      ...base,
      httpStatus: answer.status,
      applied: answer.applied,
      ...(answer.errorCode !== undefined ? { errorCode: answer.errorCode } : {}),
      ...(fault !== undefined ? { fault } : {}),
    });
    return { kind: 'response', status: answer.status, body: answer.body, requestId };
  };
  const fail = (code: string, message: string, status: number, applied = false): Answer => ({
    status,
    body: errorDocument(code, message, requestId),
    errorCode: code,
    applied,
  });

  if (world.requireAuth && !(request.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
    return finish(fail('AuthFailure', 'AWS was not able to validate the provided access credentials', 401));
  }
  if (action === '') return finish(fail('MissingAction', 'The request must contain the parameter Action', 400));
  if (!(EC2_ACTIONS as readonly string[]).includes(action)) {
    return finish(fail('InvalidAction', `The action ${action} is not valid for this web service.`, 400));
  }
  if (!world.throttle.take(action, throttleCategory(action, request.params))) {
    return finish(fail('RequestLimitExceeded', 'Request limit exceeded.', 503), 'throttled');
  }

  const scripted = world.takeScriptedFault(action);
  const random = scripted === undefined ? world.rollRandomFault(action) : undefined;
  const latency = world.nextLatencyMs();
  if (latency > 0) await sleep(latency);

  const reset = (applied: boolean): Ec2Outcome => {
    world.record({ ...base, httpStatus: 0, errorCode: 'ECONNRESET', fault: 'reset', applied });
    return { kind: 'reset' };
  };
  if (scripted !== undefined && !scripted.afterApply) {
    if (scripted.kind === 'reset') return reset(false);
    return finish(fail(scripted.code, scripted.message, scripted.httpStatus), 'injected');
  }
  if (random !== undefined) return finish(fail(random.code, random.message, random.httpStatus), 'random');

  let answer: Answer;
  try {
    const children = runAction(world, action, request.params);
    answer = { status: 200, body: successDocument(action, requestId, children), applied: MUTATING_ACTIONS.includes(action) };
  } catch (err) {
    if (!(err instanceof Ec2ApiError)) throw err;
    answer = fail(err.code, err.message, err.httpStatus);
  }
  if (scripted !== undefined) {
    // afterApply: the work is done (or failed on its own), but the client hears about a fault.
    if (scripted.kind === 'reset') return reset(answer.applied);
    return finish(fail(scripted.code, scripted.message, scripted.httpStatus, answer.applied), 'injected');
  }
  return finish(answer);
}

/** Which bucket a request draws from (EC2's request-rate limits, docs/architecture.md, 'AWS facts'). */
export function throttleCategory(action: string, params: QueryParams): ThrottleCategory {
  switch (action) {
    case 'CreateRoute':
    case 'ReplaceRoute':
    case 'DeleteRoute':
      return 'mutating';
    case 'ModifyNetworkInterfaceAttribute':
      return 'modify-network-interface';
    default: {
      const narrowed =
        hasPrefix(params, 'Filter') ||
        hasPrefix(params, 'RouteTableId') ||
        hasPrefix(params, 'NetworkInterfaceId') ||
        params.MaxResults !== undefined ||
        params.NextToken !== undefined;
      return narrowed ? 'describe' : 'describe-unfiltered';
    }
  }
}

function runAction(world: Ec2World, action: string, params: QueryParams): XmlNode[] {
  switch (action) {
    case 'DescribeRouteTables':
      return describeRouteTables(world, params);
    case 'DescribeNetworkInterfaces':
      return describeNetworkInterfaces(world, params);
    case 'DescribeTags':
      return describeTags(world, params);
    case 'DescribeManagedPrefixLists':
      return world.prefixLists.describe(params);
    case 'CreateRoute':
      dryRunCheck(params);
      world.createRoute(required(params, 'RouteTableId'), routeInput(params));
      return [el('return', 'true')];
    case 'ReplaceRoute':
      dryRunCheck(params);
      world.replaceRoute(required(params, 'RouteTableId'), routeInput(params));
      return [el('return', 'true')];
    case 'DeleteRoute': {
      dryRunCheck(params);
      const table = required(params, 'RouteTableId');
      unsupportedDestination(params);
      const v6 = params.DestinationIpv6CidrBlock;
      world.deleteRoute(table, v6 !== undefined && v6 !== '' && params.DestinationCidrBlock === undefined ? v6 : required(params, 'DestinationCidrBlock'));
      return [el('return', 'true')];
    }
    case 'ModifyNetworkInterfaceAttribute':
      modifyNetworkInterfaceAttribute(world, params);
      return [el('return', 'true')];
    default:
      throw new Ec2ApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
  }
}

// ---------------------------------------------------------------- parameters

function required(params: QueryParams, name: string): string {
  const value = params[name];
  if (value === undefined || value === '') {
    throw new Ec2ApiError('MissingParameter', `The request must contain the parameter ${lowerFirst(name)}`);
  }
  return value;
}

function parseBoolean(params: QueryParams, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new Ec2ApiError('InvalidParameterValue', `Value (${value}) for parameter ${lowerFirst(name)} is invalid. Expected: 'true' or 'false'.`);
}

function dryRunCheck(params: QueryParams): void {
  if (parseBoolean(params, 'DryRun') === true) {
    throw new Ec2ApiError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
  }
}

function unsupportedDestination(params: QueryParams): void {
  for (const name of ['DestinationPrefixListId']) {
    if (params[name] !== undefined) {
      throw new Ec2ApiError('InvalidParameterValue', `The simulator does not support ${name} in API calls`);
    }
  }
}

function routeInput(params: QueryParams): Parameters<Ec2World['createRoute']>[1] {
  unsupportedDestination(params);
  const pick = (name: string): Record<string, string> => {
    const value = params[name];
    return value === undefined ? {} : { [lowerFirst(name)]: value };
  };
  return {
    ...pick('DestinationCidrBlock'),
    ...pick('DestinationIpv6CidrBlock'),
    ...pick('GatewayId'),
    ...pick('NatGatewayId'),
    ...pick('NetworkInterfaceId'),
    ...pick('InstanceId'),
    ...pick('TransitGatewayId'),
    ...pick('VpcPeeringConnectionId'),
  };
}

// ---------------------------------------------------------------- actions

function describeRouteTables(world: Ec2World, params: QueryParams): XmlNode[] {
  const filters = filtersParam(params);
  checkFilterLimits(filters);
  const tables = world.describeRouteTables(listParam(params, 'RouteTableId'), filters);
  const page = paginate(tables, params, { min: 5, max: 100 });
  return [set('routeTableSet', page.items.map(routeTableXml)), el('nextToken', page.nextToken)];
}

function describeNetworkInterfaces(world: Ec2World, params: QueryParams): XmlNode[] {
  const filters = filtersParam(params);
  checkFilterLimits(filters);
  const ids = listParam(params, 'NetworkInterfaceId');
  if (ids.length > 0 && params.MaxResults !== undefined) {
    throw new Ec2ApiError(
      'InvalidParameterCombination',
      'The parameter NetworkInterfaceIds cannot be used with the parameter MaxResults',
    );
  }
  checkLargeAccount(params, filters, ids.length > 0, world.networkInterfaceCount(), world.largeAccountEnis);
  const enis = world.describeNetworkInterfaces(ids, filters);
  const page = paginate(enis, params, { min: 5, max: 1000 });
  return [set('networkInterfaceSet', page.items.map((e) => networkInterfaceXml(e, world.region))), el('nextToken', page.nextToken)];
}

function modifyNetworkInterfaceAttribute(world: Ec2World, params: QueryParams): void {
  dryRunCheck(params);
  const eniId = required(params, 'NetworkInterfaceId');
  const sourceDestCheck = parseBoolean(params, 'SourceDestCheck.Value');
  const others = Object.keys(params).filter(
    (k) => !['Action', 'Version', 'NetworkInterfaceId', 'SourceDestCheck.Value', 'DryRun'].includes(k),
  );
  if (others.length > 0) {
    throw new Ec2ApiError('InvalidParameterValue', `The simulator supports only SourceDestCheck (got ${others.join(', ')})`);
  }
  if (sourceDestCheck === undefined) throw new Ec2ApiError('InvalidParameterCombination', 'No attributes specified.');
  world.setSourceDestCheck(eniId, sourceDestCheck);
}

// ---------------------------------------------------------------- XML shapes

function tagSet(tags: Readonly<Record<string, string>>): XmlNode {
  return set(
    'tagSet',
    Object.entries(tags).map(([key, value]) => [el('key', key), el('value', value)]),
  );
}

function routeXml(route: SimRoute): XmlNode[] {
  return [
    el('destinationCidrBlock', route.destinationCidrBlock),
    el('destinationIpv6CidrBlock', route.destinationIpv6CidrBlock),
    el('destinationPrefixListId', route.destinationPrefixListId),
    el('gatewayId', route.gatewayId),
    el('instanceId', route.instanceId),
    el('instanceOwnerId', route.instanceOwnerId),
    el('natGatewayId', route.natGatewayId),
    el('transitGatewayId', route.transitGatewayId),
    el('networkInterfaceId', route.networkInterfaceId),
    el('vpcPeeringConnectionId', route.vpcPeeringConnectionId),
    el('state', route.state),
    el('origin', route.origin),
  ];
}

function routeTableXml(table: SimRouteTable): XmlNode[] {
  return [
    el('routeTableId', table.routeTableId),
    el('vpcId', table.vpcId),
    el('ownerId', table.ownerId),
    set('routeSet', table.routes.map(routeXml)),
    set(
      'associationSet',
      table.main && table.associationId !== undefined
        ? [
            [
              el('routeTableAssociationId', table.associationId),
              el('routeTableId', table.routeTableId),
              el('main', 'true'),
              el('associationState', [el('state', 'associated')]),
            ],
          ]
        : [],
    ),
    set(
      'propagatingVgwSet',
      table.propagatingVgws.map((id) => [el('gatewayId', id)]),
    ),
    tagSet(table.tags),
  ];
}

function privateDnsName(ip: string, region: string): string {
  const host = `ip-${ip.replace(/\./g, '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

function networkInterfaceXml(eni: SimNetworkInterface, region: string): XmlNode[] {
  const ips = [eni.privateIpAddress, ...eni.secondaryPrivateIpAddresses];
  return [
    el('networkInterfaceId', eni.networkInterfaceId),
    el('subnetId', eni.subnetId),
    el('vpcId', eni.vpcId),
    el('availabilityZone', eni.availabilityZone),
    el('description', eni.description),
    el('ownerId', eni.ownerId),
    el('requesterManaged', 'false'),
    el('status', eni.status),
    el('macAddress', eni.macAddress),
    el('privateIpAddress', eni.privateIpAddress),
    el('privateDnsName', privateDnsName(eni.privateIpAddress, region)),
    el('sourceDestCheck', String(eni.sourceDestCheck)),
    set('groupSet', [[el('groupId', 'sg-0000000000000000a'), el('groupName', 'default')]]),
    el(
      'attachment',
      eni.attachment === undefined
        ? undefined
        : [
            el('attachmentId', eni.attachment.attachmentId),
            el('instanceId', eni.attachment.instanceId),
            el('instanceOwnerId', eni.ownerId),
            el('deviceIndex', eni.attachment.deviceIndex),
            el('status', eni.attachment.status),
            el('attachTime', eni.attachment.attachTime),
            el('deleteOnTermination', String(eni.attachment.deleteOnTermination)),
            el('networkCardIndex', 0),
          ],
    ),
    tagSet(eni.tags),
    set(
      'privateIpAddressesSet',
      ips.map((ip, index) => [
        el('privateIpAddress', ip),
        el('privateDnsName', privateDnsName(ip, region)),
        el('primary', String(index === 0)),
      ]),
    ),
    set('ipv6AddressesSet', eni.ipv6Addresses.map((ip) => [el('ipv6Address', ip), el('isPrimaryIpv6', 'false')])),
    el('interfaceType', 'interface'),
  ];
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
