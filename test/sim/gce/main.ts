/**
 * Runs the GCE simulator on its own:
 *   node --import tsx test/sim/gce/main.ts --port 8085 [--project ID] [--seed-demo] [--cluster-name NAME]
 *     [--time-scale N] [--route-quota N] [--operation-latency MS] [--write-rate N] [--seed N] [--host 127.0.0.1]
 * Prints its URL on stdout (first line), then, with --seed-demo, the demo world as JSON.
 * Point routesync at it with `--gce-endpoint <url> --gce-project <project>`; shape the world from
 * elsewhere with the control API: POST /_sim/<method> (JSON arguments).
 */
import { parseArgs } from 'node:util';
import { announce, closeOnSignals, numberFlag, requireLoopbackHost } from '../shared/cli.js';
import { seedDemo } from './demo.js';
import { startGceSimulator } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    project: { type: 'string', default: 'routesync-sim' },
    'seed-demo': { type: 'boolean', default: false },
    'cluster-name': { type: 'string', default: 'routesync' },
    'time-scale': { type: 'string', default: '1' },
    'route-quota': { type: 'string', default: '100' },
    'operation-latency': { type: 'string', default: '2000' },
    'write-rate': { type: 'string', default: '1500' },
    seed: { type: 'string', default: '1' },
  },
  strict: true,
});

requireLoopbackHost(values.host);

const simulator = await startGceSimulator({
  host: values.host,
  port: numberFlag('port', values.port),
  project: values.project,
  timeScale: numberFlag('time-scale', values['time-scale']) || 1,
  routeQuota: numberFlag('route-quota', values['route-quota']),
  operationLatencyMs: numberFlag('operation-latency', values['operation-latency']),
  writeRequestsPerMinute: numberFlag('write-rate', values['write-rate']),
  seed: numberFlag('seed', values.seed),
});
announce(simulator, values['seed-demo'] ? () => seedDemo(simulator.world, values['cluster-name']) : undefined);
process.stderr.write(
  `GCE simulator for project ${simulator.world.project} listening on ${simulator.url} (control API: ${simulator.url}/_sim/snapshot)\n`,
);
closeOnSignals(simulator);
