/**
 * The queue-level reads of the engine: counts, a queue in detail (controls and health figures), the
 * figures every metrics scrape reads, and the age of the oldest ready task. Reads only: the writes
 * of a queue's controls are `queue-controls.ts`'s.
 */
import type { GroupFigures, QueueDetail, QueueHealthSummary, QueueStats } from '../contract/views.js';
import { assertValidCommand } from '../events/subjects.js';
import type { ProjectionStore } from '../projections/projection.store.js';
import type { QueueStore } from '../projections/queue.store.js';
import type { QueueControls } from './queue-controls.js';

/** Queue reads over the projection and the controls this engine holds. */
export class QueueReads {
  constructor(
    private readonly deps: { store: ProjectionStore; queueStore: QueueStore; controls: QueueControls },
  ) {}

  /** O(1) counts of one command, and whether it is paused. */
  async stats(command: string): Promise<QueueStats> {
    assertValidCommand(command);
    const paused = this.deps.controls.settingsOf(command).paused;
    return { command, ...(await this.deps.store.counts(command)), paused };
  }

  /** Counts of every command that has had tasks. */
  async allStats(): Promise<QueueStats[]> {
    const commands = await this.deps.store.commands();
    return Promise.all(commands.map((c) => this.stats(c)));
  }

  /** One queue in detail: counts, pause, limits, group figures and the oldest ready task's age. */
  async detail(command: string): Promise<QueueDetail> {
    const [stats, health, oldest] = await Promise.all([
      this.stats(command),
      this.deps.queueStore.health(command),
      this.deps.store.oldestReady([command]),
    ]);
    const { paused: _paused, ...limits } = this.deps.controls.settingsOf(command);
    const since = oldest.get(command);
    const topGroups: GroupFigures[] = health.topGroups;
    return {
      ...stats,
      limits,
      groupedReady: health.groupedReady,
      groups: health.groups,
      topGroups,
      ...(since === undefined ? {} : { oldestReadyAgeMs: Math.max(0, Date.now() - since) }),
    };
  }

  /** The cheap figures of every queue with tasks, for each metrics scrape. */
  async allHealth(): Promise<QueueHealthSummary[]> {
    const commands = await this.deps.store.commands();
    return Promise.all(
      commands.map(async (command) => ({
        command,
        paused: this.deps.controls.settingsOf(command).paused,
        ...(await this.deps.queueStore.summary(command)),
      })),
    );
  }
}
