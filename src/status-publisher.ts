/**
 * The leader writes its status document to etcd (`/routesync/<cluster-name>/status`) so nodes and
 * operators can read it without reaching the HTTP port. Writes never block a pass: while one is
 * in flight, only the newest document waits for its turn.
 *
 * etcd keeps every revision of a key until it is compacted (off by default), so a document written
 * on every pass would grow etcd's history by the whole document each time until its quota fills and
 * it refuses writes, flannel's lease renewals included. So a document is written only when its
 * content changed (the pass times do not count: `updatedAt` is the time of the last content change),
 * and at most once per `minIntervalMs`; the newest document wins, the last change is always written
 * once the interval has passed, and flush() writes a pending one at once.
 *
 * etcd refuses a request over --max-request-bytes (1.5 MiB by default), and at 10,000 leases the
 * whole document is 2.4 MB; failing writes also trip the client's circuit breaker, which takes the
 * lease watch down with it. So a document over MAX_STATUS_BYTES is written without its routed
 * leases (counted in `leaseCounts`), and with as many of the others as fit (`leasesOmitted` says
 * how many are left out). /status over HTTP always has everything.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import type { Etcd3 } from 'etcd3';
import { describeEtcdError, etcdEndpoints } from './leases/etcd-client.js';
import type { Logger } from './log.js';
import type { StatusDocument } from './telemetry/status.js';

/** Well under etcd's default request limit, which also covers the key and the request's framing. */
export const MAX_STATUS_BYTES = 1024 * 1024;

/** At most one write per this long by default. */
export const MIN_STATUS_WRITE_INTERVAL_MS = 15_000;

export interface StatusPublisherOptions {
  /** Minimum time between two writes (monotonic clock). Default MIN_STATUS_WRITE_INTERVAL_MS. */
  readonly minIntervalMs?: number;
}

interface Pending {
  readonly document: StatusDocument;
  /** Digest of the document without its time fields: what decides whether it is worth a write. */
  readonly content: string;
}

/**
 * A digest of the serialized document without the fields that change on every pass. A digest, not
 * the text: at 10,000 leases the text is 3 MB, and two of them would stay alive between passes.
 */
function statusContent(document: StatusDocument): string {
  const { lastPass, lastSuccessAt, ...rest } = document;
  const pass = lastPass === null ? null : { outcome: lastPass.outcome, reason: lastPass.reason };
  return createHash('sha256').update(JSON.stringify({ ...rest, lastPass: pass, succeeded: lastSuccessAt !== null })).digest('base64');
}

export class StatusPublisher {
  private readonly minIntervalMs: number;
  private pending: Pending | undefined;
  /** Content digest of the last document etcd accepted. */
  private written: string | undefined;
  /** Content digest first seen at `changedAt`: the document's `updatedAt`. */
  private latestContent: string | undefined;
  private changedAt = '';
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastWriteFailed = false;
  private flushing = false;

  constructor(
    private readonly client: Etcd3,
    readonly key: string,
    private readonly logger: Logger,
    private readonly maxBytes = MAX_STATUS_BYTES,
    options: StatusPublisherOptions = {},
  ) {
    this.minIntervalMs = Math.max(0, options.minIntervalMs ?? MIN_STATUS_WRITE_INTERVAL_MS);
  }

  publish(document: StatusDocument): void {
    const content = statusContent(document);
    if (content !== this.latestContent) {
      this.latestContent = content;
      this.changedAt = new Date().toISOString();
    }
    this.pending = { document, content };
    this.schedule();
  }

  /** Writes the pending document now when its interval has passed, else arms a timer for it. */
  private schedule(): void {
    if (this.flushing || this.inFlight !== undefined || this.timer !== undefined || this.pending === undefined) return;
    if (this.pending.content === this.written) {
      this.pending = undefined;
      return;
    }
    // After a failed write, wait at least a second whatever the interval: no hot loop on a sick etcd.
    const interval = this.lastWriteFailed ? Math.max(this.minIntervalMs, 1_000) : this.minIntervalMs;
    const wait = this.lastWriteAt + interval - performance.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, wait);
      this.timer.unref();
      return;
    }
    const item = this.pending;
    this.pending = undefined;
    this.inFlight = this.write(item, true).finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
  }

  private async write(item: Pending, requeue: boolean): Promise<void> {
    this.lastWriteAt = performance.now();
    const value = serializeWithin({ ...item.document, updatedAt: this.changedAt }, this.maxBytes);
    try {
      await this.client.put(this.key).value(value).exec();
      this.written = item.content;
      this.lastWriteFailed = false;
    } catch (err) {
      this.lastWriteFailed = true;
      this.logger.warn(
        { ...describeEtcdError(this.client, err), endpoints: etcdEndpoints(this.client), key: this.key },
        'could not write the status document to etcd (routes are not affected; /status over HTTP has it)',
      );
      // Tried again after the interval, unless a newer document came meanwhile.
      if (requeue) this.pending ??= item;
    }
  }

  /** Writes a pending document now (failures are not retried) and resolves when no write is in flight. */
  async flush(): Promise<void> {
    this.flushing = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      for (;;) {
        if (this.inFlight !== undefined) {
          await this.inFlight;
          continue;
        }
        const item = this.pending;
        this.pending = undefined;
        if (item === undefined || item.content === this.written) return;
        await this.write(item, false);
      }
    } finally {
      this.flushing = false;
    }
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
