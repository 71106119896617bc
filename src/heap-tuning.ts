/**
 * V8 tuned for a controller rather than a server. With the aws-vpc provider a pass parses large
 * cloud listings in a burst and leaves little alive; V8's defaults favour throughput and let the
 * heap grow to several times the live data between collections (at 10,000 leases: RSS 190 MB,
 * 220 MB at its peak; 115 and 135 MB with this tuning, README, Performance). The price is CPU,
 * a resync pass there takes 0.6 s instead of 0.3 s, and such a pass is bound by the API rate.
 *
 * The gce provider asks for it too: its client keeps large API descriptors alive, which each full
 * collection marks again, but by default the heap grows far past them (10,000 leases: RSS 494 MB;
 * 194 MB, peak 236 MB with this tuning). The price there: a resync pass of 0.65 s instead of
 * 0.22 s, a cold start of 500 routes in 7.5 s instead of 5.2 s. Each provider's declaration says
 * whether it asks (smallHeap).
 *
 * V8 reads the flag at each collection, so setting it before the service starts takes effect
 * (NODE_OPTIONS does not accept it).
 */
import { setFlagsFromString } from 'node:v8';

export function favourSmallHeap(): void {
  setFlagsFromString('--optimize-for-size');
}
