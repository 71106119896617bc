/**
 * The EC2 simulator as a real HTTP server: `POST /` speaks the EC2 Query API (form body, XML
 * answers) and, with an `X-Amz-Target` header, Service Quotas' JSON protocol (service-quotas.ts); `/_sim/<method>` is a JSON control API over the world for other processes.
 */
import { header, startSimServer } from '../shared/server.js';
import { handleEc2Request } from './api.js';
import { parseQuery } from './query.js';
import { TARGET_PREFIX, handleServiceQuotasRequest } from './service-quotas.js';
import { Ec2World, type Ec2WorldOptions } from './world.js';

export interface Ec2SimulatorOptions extends Ec2WorldOptions {
  /** Bind address; loopback only. Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Serve an existing world instead of a new one built from the options. */
  readonly world?: Ec2World;
}

export interface Ec2Simulator {
  /** `http://127.0.0.1:<port>`: the EC2 endpoint. */
  readonly url: string;
  readonly port: number;
  readonly world: Ec2World;
  /** Stops listening, drops keep-alive connections and pending delayed answers. */
  close(): Promise<void>;
}

/**
 * World methods callable through `POST /_sim/<method>` with a JSON body: an array of arguments, or
 * one object as the only argument (or nothing). `GET /_sim/<method>?arg=…` passes query values as
 * positional arguments for the read-only ones.
 */
export const CONTROL_METHODS = [
  'createVpc',
  'createSubnet',
  'createRouteTable',
  'setTags',
  'setRouteLimit',
  'setAppliedRouteQuota',
  'routeQuota',
  'setServiceQuotasAccess',
  'routeLimitOf',
  'routeTable',
  'routeTables',
  'routes',
  'route',
  'addForeignRoute',
  'createManagedPrefixList',
  'setLargeAccountEnis',
  'removeRoute',
  'createRoute',
  'replaceRoute',
  'deleteRoute',
  'setSourceDestCheck',
  'countedRoutesOf',
  'launchInstance',
  'terminateInstance',
  'stopInstance',
  'startInstance',
  'createNetworkInterface',
  'attachNetworkInterface',
  'detachNetworkInterface',
  'deleteNetworkInterface',
  'assignPrivateIp',
  'unassignPrivateIp',
  'networkInterface',
  'networkInterfaces',
  'instance',
  'instancesList',
  'vpc',
  'subnet',
  'snapshot',
  'setTimeScale',
  'setThrottling',
  'setFaults',
  'failNext',
  'resetConnectionNext',
  'clearFaults',
  'calls',
  'callStats',
  'mutatingCalls',
  'inFlight',
  'clearCalls',
] as const satisfies ReadonlyArray<keyof Ec2World>;

export async function startEc2Simulator(options: Ec2SimulatorOptions = {}): Promise<Ec2Simulator> {
  const world = options.world ?? new Ec2World(options);
  const server = await startSimServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    world,
    controlMethods: CONTROL_METHODS,
    describeError: (err) => {
      const { code } = err as { code?: unknown };
      return typeof code === 'string' ? { code } : {};
    },
    handle: async (req, url, body, sleep) => {
      if (url.pathname !== '/' || (req.method !== 'POST' && req.method !== 'GET')) {
        return { kind: 'response', status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found: the EC2 API is POST /' };
      }
      // Service Quotas shares the port: its JSON requests name their action in X-Amz-Target (service-quotas.ts).
      const target = header(req, 'x-amz-target');
      if (req.method === 'POST' && target.startsWith(TARGET_PREFIX)) {
        const answer = handleServiceQuotasRequest(world, { target, body, userAgent: header(req, 'user-agent'), amzUserAgent: header(req, 'x-amz-user-agent') });
        return {
          kind: 'response',
          status: answer.status,
          headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': answer.requestId },
          body: answer.body,
        };
      }
      const params = { ...parseQuery(url.search.slice(1)), ...(req.method === 'POST' ? parseQuery(body) : {}) };
      const outcome = await handleEc2Request(
        world,
        {
          params,
          userAgent: header(req, 'user-agent'),
          amzUserAgent: header(req, 'x-amz-user-agent'),
          authorization: req.headers.authorization,
        },
        sleep,
      );
      if (outcome.kind === 'reset') return outcome;
      return {
        kind: 'response',
        status: outcome.status,
        headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': outcome.requestId, server: 'AmazonEC2' },
        body: outcome.body,
      };
    },
  });
  return { url: server.url, port: server.port, world, close: server.close };
}
