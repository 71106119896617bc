/**
 * V8 tuned for a controller rather than a server. With the aws-vpc provider a pass parses large
 * cloud listings in a burst and leaves little alive; V8's defaults favour throughput and let the
 * heap grow to several times the live data between collections (RSS 230 MB at 10,000 leases,
 * 130 MB with this tuning: README, Performance). A pass there is bound by the cloud's API rate.
 *
 * Not for every provider: the GCE client keeps about 90 MB of API descriptors alive, which each
 * full collection marks again; favouring size there slows a GCE pass by a third for little gain.
 * providers/registry.ts says which providers ask for it.
 *
 * V8 reads the flag at each collection, so setting it before the service starts takes effect
 * (NODE_OPTIONS does not accept it).
 */
import { setFlagsFromString } from 'node:v8';

export function favourSmallHeap(): void {
  setFlagsFromString('--optimize-for-size');
}
