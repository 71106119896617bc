// Preloaded into routesync by the bench (NODE_OPTIONS=--import, which refuses --cpu-prof): a CPU
// profile from start-up, written with a heap snapshot on SIGUSR2 into BENCH_PROFILE_DIR.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const dir = process.env.BENCH_PROFILE_DIR ?? '.';
const session = new Session();
session.connect();
session.post('Profiler.enable', () => session.post('Profiler.start'));
process.on('SIGUSR2', () => {
  session.post('Profiler.stop', (err, result) => {
    if (err === null) writeFileSync(join(dir, `routesync-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    writeHeapSnapshot(join(dir, `routesync-${process.pid}.heapsnapshot`));
  });
});
