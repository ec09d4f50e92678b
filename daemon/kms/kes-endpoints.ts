// Endpoint choice for the KES client (kms-go retry.go semantics): local endpoints first, then
// round-robin from a random start; an endpoint that failed is skipped for 30 s, after which one
// request probes it; if every endpoint is skipped, one more pass ignores the marks.

import { isIP } from 'node:net';

export interface EndpointHealth {
  endpoint: string;
  /** Epoch ms until which the endpoint is skipped; 0 = healthy. */
  quarantinedUntil: number;
  lastError: string | undefined;
  /** A request is currently probing it after its quarantine ran out. */
  probing: boolean;
  /** Its last verdict was a failure (outlives the quarantine: only a success clears it). */
  failing: boolean;
}

/** Host is this machine by name or loopback address (kms-go also resolves names; we do not). */
export function isLocalEndpoint(origin: string): boolean {
  const host = new URL(origin).hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

export class EndpointSet {
  readonly #health: EndpointHealth[];
  readonly #local: EndpointHealth[];
  readonly #remote: EndpointHealth[];
  readonly #quarantineMs: number;
  readonly #now: () => number;
  #next: number;

  constructor(endpoints: readonly string[], opts: { quarantineMs?: number; now?: () => number; random?: () => number } = {}) {
    if (endpoints.length === 0) throw new RangeError('at least one endpoint');
    this.#health = endpoints.map((endpoint) => ({ endpoint, quarantinedUntil: 0, lastError: undefined, probing: false, failing: false }));
    this.#local = this.#health.filter((h) => isLocalEndpoint(h.endpoint));
    this.#remote = this.#health.filter((h) => !isLocalEndpoint(h.endpoint));
    this.#quarantineMs = opts.quarantineMs ?? 30_000;
    // Monotonic: after the wall clock stepped back, a quarantine would last as long as the step.
    this.#now = opts.now ?? (() => performance.now());
    this.#next = Math.floor((opts.random ?? Math.random)() * Math.max(1, this.#remote.length));
  }

  get size(): number {
    return this.#health.length;
  }

  all(): readonly EndpointHealth[] {
    return this.#health;
  }

  /**
   * Endpoints to try for one request, in order. Healthy ones first (local, then remote from a
   * rotating start); a quarantined one whose time ran out is included once as a probe; the
   * rest follow as a last resort, so a request never fails without trying everything.
   */
  plan(): string[] {
    const now = this.#now();
    const rotated = this.#remote.length
      ? [...this.#remote.slice(this.#next % this.#remote.length), ...this.#remote.slice(0, this.#next % this.#remote.length)]
      : [];
    if (this.#remote.length) this.#next = (this.#next + 1) % this.#remote.length;
    const ordered = [...this.#local, ...rotated];
    const first: string[] = [];
    const last: string[] = [];
    for (const h of ordered) {
      if (h.quarantinedUntil === 0) first.push(h.endpoint);
      else if (h.quarantinedUntil <= now && !h.probing) {
        h.probing = true;
        first.push(h.endpoint);
      } else last.push(h.endpoint);
    }
    return [...first, ...last];
  }

  #find(endpoint: string): EndpointHealth | undefined {
    return this.#health.find((h) => h.endpoint === endpoint);
  }

  /** Marks it working; true when it was failing (a state change worth a log line). */
  succeeded(endpoint: string): boolean {
    const h = this.#find(endpoint);
    if (!h) return false;
    const recovered = h.failing;
    h.quarantinedUntil = 0;
    h.probing = false;
    h.lastError = undefined;
    h.failing = false;
    return recovered;
  }

  /** Quarantines it; true when it was working until now (a state change worth a log line). */
  failed(endpoint: string, error: string): boolean {
    const h = this.#find(endpoint);
    if (!h) return false;
    const wasWorking = !h.failing;
    h.quarantinedUntil = this.#now() + this.#quarantineMs;
    h.probing = false;
    h.lastError = error;
    h.failing = true;
    return wasWorking;
  }

  /** A probe that ended without a verdict (e.g. a 4xx, which says nothing about health). */
  released(endpoint: string): void {
    const h = this.#find(endpoint);
    if (h) h.probing = false;
  }

  isQuarantined(endpoint: string): boolean {
    const h = this.#find(endpoint);
    return h !== undefined && h.quarantinedUntil > this.#now();
  }
}
