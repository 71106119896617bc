/**
 * The leader writes its status document to etcd (`/routesync/<cluster-name>/status`) so nodes and
 * operators can read it without reaching the HTTP port. Writes never block a pass: while one is
 * in flight, only the newest document waits for its turn.
 */
import type { Etcd3 } from 'etcd3';
import type { Logger } from './log.js';

export class StatusPublisher {
  private draining: Promise<void> | undefined;
  private next: string | undefined;

  constructor(
    private readonly client: Etcd3,
    readonly key: string,
    private readonly logger: Logger,
  ) {}

  publish(document: object): void {
    this.next = JSON.stringify({ ...document, updatedAt: new Date().toISOString() });
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.next !== undefined) {
      const value = this.next;
      this.next = undefined;
      try {
        await this.client.put(this.key).value(value).exec();
      } catch (err) {
        this.logger.warn({ err: String(err), key: this.key }, 'could not write the status document to etcd');
      }
    }
  }

  /** Resolves once every queued document was written (or failed). */
  async flush(): Promise<void> {
    await this.draining;
  }
}
