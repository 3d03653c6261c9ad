/**
 * Redis key names of the projection. Every per-command key carries the command as a hash tag
 * (`{<command>}`) so one script only ever touches one Redis Cluster slot.
 */

/** Key builders for one key prefix (default `codeq`). */
export class ProjectionKeys {
  constructor(
    /** Prefix of every key; lets several codeq deployments (or tests) share one Redis. */
    readonly prefix: string,
  ) {}

  /** Base of one command's keys, passed to the Lua scripts as KEYS[1] (`codeq:{cmd}:`). */
  commandBase(command: string): string {
    return `${this.prefix}:{${command}}:`;
  }

  /** Ready tasks, score `readyScore(priority, readySeq)` of `op-layout.ts` (priority first, then FIFO). */
  ready(command: string): string {
    return `${this.commandBase(command)}ready`;
  }

  /** Pending tasks not yet due, score = due time (epoch ms). */
  delayed(command: string): string {
    return `${this.commandBase(command)}delayed`;
  }

  /** Leased tasks, score = lease deadline (epoch ms). */
  inflight(command: string): string {
    return `${this.commandBase(command)}inflight`;
  }

  /** Tasks reserved by a claimer between reserve and append, score = reservation deadline. */
  reserved(command: string): string {
    return `${this.commandBase(command)}reserved`;
  }

  /** Live (pending or leased) tasks by the time of their oldest event in the log (snapshot due). */
  age(command: string): string {
    return `${this.commandBase(command)}age`;
  }

  /** Dead-lettered tasks, score = time of the `dlq` event. */
  dlq(command: string): string {
    return `${this.commandBase(command)}dlq`;
  }

  /** Completed, failed and cancelled tasks, score = time of the terminal event. */
  done(command: string): string {
    return `${this.commandBase(command)}done`;
  }

  /** Every task of the command by creation time (score, epoch ms): the dashboard's search, newest first. */
  created(command: string): string {
    return `${this.commandBase(command)}created`;
  }

  /**
   * Counts of one minute (`floor(epoch ms / 60000)`): hash of `e` enqueued, `d` completed, `f`
   * failed or dead-lettered; expires two hours after the minute (see `dashboard-counts.lua`).
   */
  minuteCounts(command: string, minute: number): string {
    return `${this.commandBase(command)}mc:${minute}`;
  }

  /** Worker ids seen on the command's events (claim, heartbeat, nack, result), score = last seen. */
  workersSeen(command: string): string {
    return `${this.commandBase(command)}wk`;
  }

  /** A task's hash (state, version, attempts, payload, result, ...). */
  task(command: string, taskId: string): string {
    return `${this.commandBase(command)}t:${taskId}`;
  }

  /** Task id → command index (a string key). */
  taskIndex(taskId: string): string {
    return `${this.prefix}:id:${taskId}`;
  }

  /** Idempotency key → `<taskId> <command>`, with a TTL. */
  idempotency(key: string): string {
    return `${this.prefix}:idem:${key}`;
  }

  /** Set of every command that has (or had) tasks. */
  commands(): string {
    return `${this.prefix}:commands`;
  }

  /** Last stream sequence the projector applied. */
  checkpoint(): string {
    return `${this.prefix}:projector:seq`;
  }

  /** Present once the projection is built; its absence means Redis lost it (rebuild). */
  builtMarker(): string {
    return `${this.prefix}:projector:built`;
  }

  /** Leader lock of a background loop (`projector`, `sweeper`, ...). */
  lock(name: string): string {
    return `${this.prefix}:lock:${name}`;
  }

  /** SCAN pattern matching every key of this prefix (for a rebuild's flush). */
  everything(): string {
    return `${this.prefix}:*`;
  }
}
