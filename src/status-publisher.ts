/**
 * The leader writes its status document to etcd (`/routesync/<cluster-name>/status`) so nodes and
 * operators can read it without reaching the HTTP port. Writes never block a pass: while one is
 * in flight, only the newest document waits for its turn.
 *
 * etcd refuses a request over --max-request-bytes (1.5 MiB by default), and at 10,000 leases the
 * whole document is 2.4 MB; failing writes also trip the client's circuit breaker, which takes the
 * lease watch down with it. So a document over MAX_STATUS_BYTES is written without its routed
 * leases (counted in `leaseCounts`), and with as many of the others as fit (`leasesOmitted` says
 * how many are left out). /status over HTTP always has everything.
 */
import type { Etcd3 } from 'etcd3';
import type { Logger } from './log.js';
import type { StatusDocument } from './telemetry.js';

/** Well under etcd's default request limit, which also covers the key and the request's framing. */
export const MAX_STATUS_BYTES = 1024 * 1024;

export class StatusPublisher {
  private draining: Promise<void> | undefined;
  private next: string | undefined;

  constructor(
    private readonly client: Etcd3,
    readonly key: string,
    private readonly logger: Logger,
    private readonly maxBytes = MAX_STATUS_BYTES,
  ) {}

  publish(document: StatusDocument): void {
    this.next = serializeWithin({ ...document, updatedAt: new Date().toISOString() }, this.maxBytes);
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

/** The document as JSON in at most `maxBytes` (UTF-8), dropping routed leases first, then the tail of the others. */
export function serializeWithin(document: StatusDocument & { readonly updatedAt: string }, maxBytes: number): string {
  const whole = JSON.stringify(document);
  if (Buffer.byteLength(whole) <= maxBytes) return whole;
  const leaseCounts: Record<string, number> = {};
  for (const lease of document.leases) leaseCounts[lease.state] = (leaseCounts[lease.state] ?? 0) + 1;
  const attention = document.leases.filter((lease) => lease.state !== 'routed');
  const invalid = document.invalidLeases;
  // Halve what is kept until it fits; a few halvings at most, even for 100,000 leases.
  for (let keep = Math.max(attention.length, invalid.length); ; keep = Math.floor(keep / 2)) {
    const text = JSON.stringify({
      ...document,
      leases: attention.slice(0, keep),
      leaseCounts,
      leasesOmitted: document.leases.length - Math.min(keep, attention.length),
      invalidLeases: invalid.slice(0, keep),
      invalidLeasesOmitted: invalid.length - Math.min(keep, invalid.length),
    });
    if (Buffer.byteLength(text) <= maxBytes || keep === 0) return text;
  }
}
