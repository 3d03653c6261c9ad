/**
 * Decision snapshots of the tasks this engine leased, so a worker's heartbeat or result for a task
 * claimed here is decided without reading the projection first (one Redis round trip and one
 * script per result batch saved). Safe by construction: a decision taken on a cached snapshot is
 * appended with the snapshot's version, and the log's expected-sequence fence refuses it when the
 * task moved on meanwhile (a lease repaired elsewhere, an admin's cancel); the caller then forgets
 * the entry, reads the projection (resyncing it from the log) and decides again.
 */
import { evolve } from '../actors/task.decider.js';
import type { TaskSnapshot } from '../actors/task.types.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';

/** A cached snapshot and the task's command. */
export interface CachedLease {
  /** The task's command. */
  command: string;
  /** The task's snapshot as of its last event written by this engine. */
  snapshot: TaskSnapshot;
}

/** Default bound on cached leases (oldest dropped first). */
export const DEFAULT_LEASE_CACHE_ENTRIES = 100_000;

/** Bounded map of task id → snapshot of leases taken by this engine. */
export class LeaseCache {
  private readonly entries = new Map<string, CachedLease>();

  constructor(
    /** Most entries kept; the oldest are dropped beyond it. Default 100 000 (a few MB). */
    private readonly maxEntries: number = DEFAULT_LEASE_CACHE_ENTRIES,
  ) {}

  /** Number of cached leases. */
  get size(): number {
    return this.entries.size;
  }

  /** Records a task's snapshot (after this engine wrote its `claimed` or `heartbeat` event). */
  remember(taskId: string, command: string, snapshot: TaskSnapshot): void {
    if (snapshot.status !== 'inProgress') {
      this.entries.delete(taskId);
      return;
    }
    this.entries.delete(taskId); // re-inserted last: eviction drops the least recently written
    this.entries.set(taskId, { command, snapshot });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /** The cached lease of a task, if any; a command hint that disagrees means no hit. */
  get(taskId: string, commandHint?: string): CachedLease | undefined {
    const entry = this.entries.get(taskId);
    if (!entry || (commandHint !== undefined && commandHint !== entry.command)) return undefined;
    return entry;
  }

  /** Drops a task (its lease ended, or a decision on the cached snapshot met a newer version). */
  forget(taskId: string): void {
    this.entries.delete(taskId);
  }

  /**
   * Follows an event this engine appended for a task decided on `snapshot`: a lease that goes on
   * (a heartbeat, a progress report) stays cached with the new version, anything else ends the entry.
   */
  afterWrite(snapshot: TaskSnapshot, event: StoredTaskEvent): void {
    if (event.type === 'claimed' || event.type === 'heartbeat' || event.type === 'progressed') {
      this.remember(event.taskId, event.command, evolve(snapshot, event));
    } else {
      this.entries.delete(event.taskId);
    }
  }

  /** Drops everything (the projection was rebuilt, or the engine closes). */
  clear(): void {
    this.entries.clear();
  }
}
