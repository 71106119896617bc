/**
 * The gce provider's declaration: its flags, its defaults, and the one place its settings are
 * checked. Kept free of the Compute client so that --help loads none of it.
 */
import { UsageError } from '../../src/config-types.js';
import { bad, matching, url } from '../../src/flags/checks.js';
import type { ProviderDeclaration } from '../declaration.js';
import type { GceSettings } from './from-config.js';

const PROJECT = '--gce-project';
const NETWORK = '--gce-network';
const ENDPOINT = '--gce-endpoint';
const NODE_NETWORK_TAG = '--node-network-tag';
const NODE_LABEL = '--node-label';
const ROUTE_LIMIT_FALLBACK = 100;

export const declaration: ProviderDeclaration<GceSettings> = {
  name: 'gce',
  // Only when projects.get cannot be read: 100 was the ROUTES quota of a new project in flannel's
  // day (250 is common now), so a project rarely holds fewer.
  routeLimitFallback: ROUTE_LIMIT_FALLBACK,
  // Measured at 10,000 leases (young generation 1 MB, as shipped): RSS 122 MB (peak 154) without, 116 MB (peak 138) with (src/heap-tuning.ts).
  smallHeap: true,
  flags: [
    {
      flag: PROJECT,
      arg: 'id',
      help: 'project whose routes are managed (required for gce)',
      check: matching(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/, 'expected a project id such as my-project-123'),
    },
    {
      flag: NETWORK,
      arg: 'name',
      help: 'VPC network of the routes',
      default: 'default',
      check: matching(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a network name such as default'),
    },
    {
      flag: ENDPOINT,
      arg: 'url',
      help: 'Compute API endpoint override, e.g. http://127.0.0.1:8085 (an http:// endpoint uses no Google auth)',
      check: (value, label) => {
        const { pathname } = new URL(url(label, value));
        // The client adds the /compute/v1 paths itself.
        if (pathname !== '/' && pathname !== '') throw bad(label, value, 'give scheme, host and port only, e.g. http://127.0.0.1:8085');
      },
    },
    {
      flag: NODE_NETWORK_TAG,
      arg: 'tag',
      help: 'only instances carrying this network tag are route targets; repeatable or comma list, any one (or a --node-label) suffices',
      list: true,
      check: matching(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a network tag such as prod-node'),
    },
    {
      flag: NODE_LABEL,
      arg: 'key=value',
      help: 'only instances carrying this label are route targets; repeatable or comma list, any one (or a --node-network-tag) suffices',
      list: true,
      check: matching(/^[a-z][-_a-z0-9]{0,62}=[-_a-z0-9]{0,63}$/, 'expected KEY=VALUE such as goog-k8s-cluster-name=prod'),
    },
  ],

  parse(values) {
    const project = values.text(PROJECT);
    const network = values.text(NETWORK) ?? 'default';
    const endpoint = values.text(ENDPOINT);
    if (project === undefined) throw new UsageError('--provider gce needs --gce-project');
    const nodeLabels = values.list(NODE_LABEL).map((text) => ({ key: text.slice(0, text.indexOf('=')), value: text.slice(text.indexOf('=') + 1) }));
    return { project, network, nodeNetworkTags: values.list(NODE_NETWORK_TAG), nodeLabels, ...(endpoint !== undefined ? { endpoint } : {}) };
  },

  create: async (context) => (await import('./from-config.js')).createFromConfig(context, ROUTE_LIMIT_FALLBACK),
};
