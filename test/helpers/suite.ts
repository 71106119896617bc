/**
 * The shared shape of an end-to-end suite: one real etcd for the file, and per test a list of
 * things to stop (simulators, proxies) after every routesync process the test started.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startEtcd, type EtcdServer } from './etcd.js';
import { stopAllRoutesync } from './routesync.js';

export interface EtcdSuite {
  /** The suite's etcd (started before the first test). */
  readonly etcd: EtcdServer;
  /** Registers something to close after the current test. */
  closeAfterTest<T extends { close(): Promise<void> }>(resource: T): T;
}

export function useEtcdSuite(): EtcdSuite {
  let etcd: EtcdServer | undefined;
  const toClose: Array<{ close(): Promise<void> }> = [];
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  afterEach(async () => {
    await stopAllRoutesync();
    for (const resource of toClose.splice(0).reverse()) await resource.close();
  });
  return {
    get etcd(): EtcdServer {
      if (etcd === undefined) throw new Error('etcd is not started yet: use it inside a test');
      return etcd;
    },
    closeAfterTest(resource) {
      toClose.push(resource);
      return resource;
    },
  };
}
