/**
 * A job's progress reports to the server: at most one request in flight per job; reports made
 * meanwhile are coalesced into one, the latest value winning (a handler reporting in a tight loop
 * sends one request per round trip, not one per call). Every report's promise settles with the
 * request that carried it (or the later one that replaced it).
 */

/** A report waiting for the request in flight to end. */
interface Queued {
  progress: number;
  data: unknown;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Sends one job's progress reports, one at a time, latest first. */
export class ProgressReporter {
  private inFlight = false;
  private queued: Queued | undefined;

  /** @param send records one report on the server (rejects when it was refused). */
  constructor(private readonly send: (progress: number, data: unknown) => Promise<void>) {}

  /** Sends the report now, or after the one in flight (replacing any report still waiting). */
  report(progress: number, data: unknown): Promise<void> {
    if (!this.inFlight) return this.start(progress, data);
    if (this.queued) {
      this.queued.progress = progress;
      this.queued.data = data;
      return this.queued.promise;
    }
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.queued = { progress, data, promise, resolve, reject };
    return promise;
  }

  private start(progress: number, data: unknown): Promise<void> {
    this.inFlight = true;
    const sent = this.send(progress, data);
    const next = () => {
      this.inFlight = false;
      const queued = this.queued;
      this.queued = undefined;
      if (queued) this.start(queued.progress, queued.data).then(queued.resolve, queued.reject);
    };
    sent.then(next, next);
    return sent;
  }
}
