/** What the GCE baselines share: their configuration and a small JSON REST client (fetch). */
import { sleep } from './common.js';

export interface GceBaselineNode {
  readonly ip: string;
  readonly subnet: string;
  readonly name: string;
  readonly zone: string;
}

export interface GceBaselineConfig {
  /** e.g. http://127.0.0.1:PORT (the simulator) */
  readonly endpoint: string;
  readonly project: string;
  readonly network: string;
  readonly timeScale: number;
  readonly nodes: readonly GceBaselineNode[];
  readonly deadlineMs: number;
  readonly seed: number;
}

export class GceHttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(`${status} ${reason}`);
  }
}

export interface GceOperation {
  readonly name: string;
  readonly status: string;
  readonly error?: unknown;
}

/** Compute v1 over plain fetch: what google-api-go-client's calls amount to on the wire. */
export function gceRest(config: GceBaselineConfig) {
  const base = `${config.endpoint}/compute/v1/projects/${config.project}`;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${base}/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const json = (text === '' ? {} : JSON.parse(text)) as { error?: { errors?: Array<{ reason?: string }> } };
    if (!response.ok) throw new GceHttpError(response.status, json.error?.errors?.[0]?.reason ?? 'unknown');
    return json as T;
  };
  return {
    getInstance: (zone: string, name: string) => call<{ selfLink: string }>('GET', `zones/${zone}/instances/${name}`),
    getNetwork: () => call<{ selfLink: string }>('GET', `global/networks/${config.network}`),
    getRoute: (name: string) => call<{ nextHopInstance?: string }>('GET', `global/routes/${name}`),
    listRoutes: async (): Promise<Array<{ name: string; destRange: string }>> => {
      const routes: Array<{ name: string; destRange: string }> = [];
      let token: string | undefined;
      do {
        const page = await call<{ items?: Array<{ name: string; destRange: string }>; nextPageToken?: string }>(
          'GET',
          `global/routes?maxResults=500${token !== undefined ? `&pageToken=${encodeURIComponent(token)}` : ''}`,
        );
        routes.push(...(page.items ?? []));
        token = page.nextPageToken;
      } while (token !== undefined && token !== '');
      return routes;
    },
    insertRoute: (route: Record<string, unknown>) => call<GceOperation>('POST', 'global/routes', route),
    getOperation: (name: string) => call<GceOperation>('GET', `global/operations/${name}`),
    /** Polls the operation every `everyMs` (already scaled) until DONE, at most `times` times. */
    pollOperation: async (name: string, everyMs: number, times: number): Promise<GceOperation> => {
      for (let i = 0; i < times; i += 1) {
        const op = await call<GceOperation>('GET', `global/operations/${name}`);
        if (op.error !== undefined) throw new Error(`operation failed: ${JSON.stringify(op.error)}`);
        if (op.status === 'DONE') return op;
        await sleep(everyMs);
      }
      throw new Error('timeout waiting for operation to finish');
    },
  };
}

export function dashed(subnet: string): string {
  return subnet.replace(/[./]/g, '-');
}
