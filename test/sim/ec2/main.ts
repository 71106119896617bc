/**
 * Runs the EC2 simulator on its own:
 *   node --import tsx test/sim/ec2/main.ts --port 4566 [--seed-demo] [--cluster-name NAME]
 *     [--time-scale N] [--no-throttling] [--route-limit N] [--seed N] [--host 127.0.0.1]
 * Prints its URL on stdout (first line), then, with --seed-demo, the demo world as JSON.
 * Shape the world from elsewhere with the control API: POST /_sim/<method> (JSON arguments).
 */
import { parseArgs } from 'node:util';
import { announce, closeOnSignals, numberFlag, requireLoopbackHost } from '../shared/cli.js';
import { seedDemo } from './demo.js';
import { startEc2Simulator } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'seed-demo': { type: 'boolean', default: false },
    'cluster-name': { type: 'string', default: 'routesync' },
    'time-scale': { type: 'string', default: '1' },
    'no-throttling': { type: 'boolean', default: false },
    // Unset: AWS's current default of 500 (world.ts); the demo's account applies 50 itself.
    'route-limit': { type: 'string' },
    seed: { type: 'string', default: '1' },
  },
  strict: true,
});

requireLoopbackHost(values.host);

const simulator = await startEc2Simulator({
  host: values.host,
  port: numberFlag('port', values.port),
  timeScale: numberFlag('time-scale', values['time-scale']),
  throttling: !values['no-throttling'],
  ...(values['route-limit'] !== undefined ? { routeLimit: numberFlag('route-limit', values['route-limit']) } : {}),
  seed: numberFlag('seed', values.seed),
});
announce(simulator, values['seed-demo'] ? () => seedDemo(simulator.world, values['cluster-name']) : undefined);
process.stderr.write(`EC2 simulator listening on ${simulator.url} (control API: ${simulator.url}/_sim/snapshot)\n`);
closeOnSignals(simulator);
