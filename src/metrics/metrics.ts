/**
 * Prometheus metrics of one codeq server, on their own registry (never prom-client's global one, so
 * several servers in one process, as in tests, do not collide). Task counters are fed by the
 * engine's observer hooks; queue depth, the oldest ready task's age and the projection lag are read
 * from the engine when scraped, so every server reports them (not only the background leader).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SeriesHistogram } from './series-histogram.js';
import type { EngineApi, EngineObserver } from '../engine/engine.types.js';
import type { GroupFigures, QueueHealthSummary, QueueStats } from '../contract/views.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';

/** What the scrape-time gauges read (the server binds its engine). */
export type MetricsSource = Pick<
  EngineApi,
  'allQueueStats' | 'allQueueHealth' | 'oldestReady' | 'projectionLag' | 'queueDetail'
>;

/** Group keys per command with their own series (the busiest by ready tasks): bounds cardinality. */
const GROUP_SERIES_PER_COMMAND = 10;

/** Largest number of in-flight claims remembered for the run-duration histogram. */
const MAX_TRACKED_CLAIMS = 100_000;

/** The metrics of a server. */
export interface Metrics {
  /** The registry `/metrics` exposes. */
  readonly registry: Registry;
  /** `codeq_tasks_created_total{command}`. */
  readonly tasksCreated: Counter<'command'>;
  /** `codeq_tasks_claimed_total{command}`. */
  readonly tasksClaimed: Counter<'command'>;
  /** `codeq_tasks_completed_total{command}`. */
  readonly tasksCompleted: Counter<'command'>;
  /** `codeq_tasks_failed_total{command}` (failed results). */
  readonly tasksFailed: Counter<'command'>;
  /** `codeq_tasks_dead_lettered_total{command}`. */
  readonly tasksDeadLettered: Counter<'command'>;
  /** `codeq_tasks_lease_expired_total{command}`. */
  readonly tasksLeaseExpired: Counter<'command'>;
  /** `codeq_tasks_nacked_total{command}`. */
  readonly tasksNacked: Counter<'command'>;
  /** `codeq_tasks_cancelled_total{command}`. */
  readonly tasksCancelled: Counter<'command'>;
  /** `codeq_queue_depth{command,state}` (state: ready, delayed, inProgress, dlq), read on scrape. */
  readonly queueDepth: Gauge<'command' | 'state'>;
  /**
   * `codeq_queue_oldest_ready_age_seconds{command}`, read on scrape: how long the longest-waiting
   * ready task has been claimable (see `QueueStore.summary`); only commands with ready tasks have a
   * series.
   */
  readonly oldestReadyAge: Gauge<'command'>;
  /** `codeq_queue_groups{command}`: group keys with ready work, read on scrape. */
  readonly queueGroups: Gauge<'command'>;
  /** `codeq_queue_paused{command}`: 1 while paused, read on scrape. */
  readonly queuePaused: Gauge<'command'>;
  /**
   * `codeq_queue_group_tasks{command,group_key,state}` (state: ready, leased), read on scrape, for
   * the 10 busiest group keys of each command (all keys: `GET /admin/queues/:command`).
   */
  readonly queueGroupTasks: Gauge<'command' | 'group_key' | 'state'>;
  /** `codeq_claim_delay_seconds{command}`: enqueue to first claim (any requested delay included). */
  readonly claimDelay: SeriesHistogram<'command'>;
  /** `codeq_claim_wait_seconds{outcome}`: how long claim calls waited (claimed, handed_off, empty). */
  readonly claimWait: Histogram<'outcome'>;
  /** `codeq_task_run_duration_seconds{command,outcome}`: claim to terminal event (or nack/expiry). */
  readonly taskRunDuration: SeriesHistogram<'command' | 'outcome'>;
  /** `codeq_api_request_duration_seconds{route,method,status}`. */
  readonly apiRequestDuration: Histogram<'route' | 'method' | 'status'>;
  /** `codeq_projector_lag`, read on scrape: stream last sequence minus last projected sequence. */
  readonly projectorLag: Gauge;
  /** `codeq_webhook_deliveries_total{kind,outcome}` (kind: result, notification). */
  readonly webhookDeliveries: Counter<'kind' | 'outcome'>;
  /**
   * `codeq_nats_intake_messages_total{outcome}`: messages of the NATS publish intake (`enqueued`,
   * `rejected`: invalid or refused, terminated; `retried`: a dependency failed, redelivered later).
   */
  readonly natsIntakeMessages: Counter<'outcome'>;
  /** Sets where the scrape-time gauges read from (the server binds its engine; undefined unbinds). */
  setSource(source: MetricsSource | undefined): void;
}

/** What one scrape read: every command's counts and health figures. */
interface QueueReading {
  stats: QueueStats[];
  health: QueueHealthSummary[];
  groups: Map<string, GroupFigures[]>;
  readySince: Map<string, number>;
  at: number;
}

/** Creates the metrics on a fresh registry. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ['command'] as const, registers: [registry] });
  let source: MetricsSource | undefined;
  let reading: Promise<QueueReading> | undefined;
  /**
   * Every command's counts and ready ages, shared by the gauges that need them within one scrape:
   * prom-client starts every metric's collect in one synchronous pass, so a read still in flight is
   * this scrape's; once it settles, the next scrape reads afresh.
   */
  const readQueues = (from: MetricsSource): Promise<QueueReading> => {
    if (!reading) {
      const next = (async () => {
        const [stats, health] = await Promise.all([from.allQueueStats(), from.allQueueHealth()]);
        const ready = stats.filter((s) => s.ready > 0).map((s) => s.command);
        const grouped = health.filter((h) => h.groups > 0).map((h) => h.command);
        const [readySince, details] = await Promise.all([
          from.oldestReady(ready),
          Promise.all(grouped.map((c) => from.queueDetail(c))),
        ]);
        const groups = new Map(
          details.map((d) => [d.command, d.topGroups.slice(0, GROUP_SERIES_PER_COMMAND)]),
        );
        return { stats, health, groups, readySince, at: Date.now() };
      })();
      reading = next;
      const settle = (): void => {
        if (reading === next) reading = undefined;
      };
      next.then(settle, settle);
    }
    return reading;
  };

  /** A gauge per command read from the scrape's health figures. */
  const healthGauge = (name: string, help: string, value: (h: QueueHealthSummary) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['command'] as const,
      registers: [registry],
      async collect() {
        if (!source) return;
        const { health } = await readQueues(source);
        this.reset();
        for (const h of health) this.set({ command: h.command }, value(h));
      },
    });

  const metrics: Metrics = {
    registry,
    tasksCreated: counter('codeq_tasks_created_total', 'Tasks created (enqueued), by command.'),
    tasksClaimed: counter('codeq_tasks_claimed_total', 'Task deliveries (claims), by command.'),
    tasksCompleted: counter('codeq_tasks_completed_total', 'Tasks completed, by command.'),
    tasksFailed: counter('codeq_tasks_failed_total', 'Tasks finished with a FAILED result, by command.'),
    tasksDeadLettered: counter('codeq_tasks_dead_lettered_total', 'Tasks sent to the DLQ, by command.'),
    tasksLeaseExpired: counter('codeq_tasks_lease_expired_total', 'Leases that ran out, by command.'),
    tasksNacked: counter('codeq_tasks_nacked_total', 'Nacks (retries requested by workers), by command.'),
    tasksCancelled: counter('codeq_tasks_cancelled_total', 'Pending tasks cancelled, by command.'),
    queueDepth: new Gauge({
      name: 'codeq_queue_depth',
      help: 'Tasks per command and state (ready, delayed, inProgress, dlq), read at scrape time.',
      labelNames: ['command', 'state'] as const,
      registers: [registry],
      async collect() {
        if (!source) return;
        const { stats } = await readQueues(source);
        this.reset();
        for (const s of stats) {
          for (const state of ['ready', 'delayed', 'inProgress', 'dlq'] as const) {
            this.set({ command: s.command, state }, s[state]);
          }
        }
      },
    }),
    oldestReadyAge: new Gauge({
      name: 'codeq_queue_oldest_ready_age_seconds',
      help: 'Seconds the longest-waiting ready task of a command has been claimable (among the next task of each priority, and of the next groups in turn), read at scrape time; no series when nothing is ready.',
      labelNames: ['command'] as const,
      registers: [registry],
      async collect() {
        if (!source) return;
        const { readySince, at } = await readQueues(source);
        this.reset();
        for (const [command, since] of readySince) this.set({ command }, Math.max(0, at - since) / 1000);
      },
    }),
    queueGroups: healthGauge(
      'codeq_queue_groups',
      'Group keys with ready tasks, by command, read at scrape time.',
      (h) => h.groups,
    ),
    queuePaused: healthGauge(
      'codeq_queue_paused',
      '1 while the queue is paused (enqueues accepted, no claims), by command, read at scrape time.',
      (h) => (h.paused ? 1 : 0),
    ),
    queueGroupTasks: new Gauge({
      name: 'codeq_queue_group_tasks',
      help: 'Tasks of the busiest group keys of each command (at most 10 keys per command) by state (ready, leased), read at scrape time.',
      labelNames: ['command', 'group_key', 'state'] as const,
      registers: [registry],
      async collect() {
        if (!source) return;
        const { groups } = await readQueues(source);
        this.reset();
        for (const [command, figures] of groups) {
          for (const g of figures) {
            this.set({ command, group_key: g.groupKey, state: 'ready' }, g.ready);
            this.set({ command, group_key: g.groupKey, state: 'leased' }, g.leased);
          }
        }
      },
    }),
    claimDelay: new SeriesHistogram({
      name: 'codeq_claim_delay_seconds',
      help: 'From enqueue to the first claim of a task (any delay the producer asked for included), by command.',
      labelNames: ['command'] as const,
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    claimWait: new Histogram({
      name: 'codeq_claim_wait_seconds',
      help: 'Time claim calls spent waiting, by outcome (claimed, handed_off: given a task at its enqueue, or empty).',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers: [registry],
    }),
    // Observed once per delivery: series resolved once (prom-client hashes labels per observation).
    taskRunDuration: new SeriesHistogram({
      name: 'codeq_task_run_duration_seconds',
      help: 'From claim to the next outcome of that delivery (completed, failed, nacked, abandoned, leaseExpired, dlq).',
      labelNames: ['command', 'outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    apiRequestDuration: new Histogram({
      name: 'codeq_api_request_duration_seconds',
      help: 'HTTP request duration by route template, method and status.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    projectorLag: new Gauge({
      name: 'codeq_projector_lag',
      help: 'Events in the log not yet applied to the Redis projection (stream last sequence minus checkpoint), read at scrape time.',
      registers: [registry],
      async collect() {
        if (source) this.set(await source.projectionLag());
      },
    }),
    webhookDeliveries: new Counter({
      name: 'codeq_webhook_deliveries_total',
      help: 'Webhook deliveries by kind (result, notification) and outcome.',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    natsIntakeMessages: new Counter({
      name: 'codeq_nats_intake_messages_total',
      help: 'Messages of the NATS publish intake by outcome (enqueued, rejected, retried).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    setSource(next) {
      source = next;
      reading = undefined;
    },
  };
  return metrics;
}

/**
 * The engine observer that feeds `metrics`: counts appended events by type and times deliveries.
 * Run durations are approximate (event times; only deliveries claimed through this process).
 */
export function engineObserver(metrics: Metrics): EngineObserver {
  const claimedAt = new Map<string, number>();
  const counterOf: Partial<Record<StoredTaskEvent['type'], Counter<'command'>>> = {
    enqueued: metrics.tasksCreated,
    claimed: metrics.tasksClaimed,
    completed: metrics.tasksCompleted,
    failed: metrics.tasksFailed,
    dlq: metrics.tasksDeadLettered,
    leaseExpired: metrics.tasksLeaseExpired,
    nacked: metrics.tasksNacked,
    cancelled: metrics.tasksCancelled,
  };
  /** Outcome label of the events that end a delivery. */
  const RUN_OUTCOMES: ReadonlySet<string> = new Set([
    'completed',
    'failed',
    'dlq',
    'leaseExpired',
    'nacked',
    'abandoned',
  ]);
  return {
    onEventsAppended(events) {
      // Counters move once per (event type, command) and batch, not once per event.
      const counts = new Map<Counter<'command'>, Map<string, number>>();
      for (const event of events) {
        const counter = counterOf[event.type];
        if (counter) {
          let byCommand = counts.get(counter);
          if (!byCommand) counts.set(counter, (byCommand = new Map()));
          byCommand.set(event.command, (byCommand.get(event.command) ?? 0) + 1);
        }
        if (event.type === 'claimed') {
          // Map keeps insertion order: drop the oldest entry when full (its task was likely lost track of).
          if (claimedAt.size >= MAX_TRACKED_CLAIMS) claimedAt.delete(claimedAt.keys().next().value as string);
          claimedAt.set(event.taskId, event.at);
        } else if (RUN_OUTCOMES.has(event.type)) {
          const start = claimedAt.get(event.taskId);
          if (start === undefined) continue;
          claimedAt.delete(event.taskId);
          metrics.taskRunDuration
            .series({ command: event.command, outcome: event.type })
            .observe(Math.max(0, event.at - start) / 1000);
        }
      }
      for (const [counter, byCommand] of counts) {
        for (const [command, n] of byCommand) counter.inc({ command }, n);
      }
    },
    onTasksClaimed(tasks, now) {
      for (const task of tasks) {
        if (task.attempts !== 1) continue;
        metrics.claimDelay
          .series({ command: task.command })
          .observe(Math.max(0, now - task.createdAt) / 1000);
      }
    },
    onClaimFinished(waitMs, count, handedOff) {
      const outcome = count === 0 ? 'empty' : handedOff ? 'handed_off' : 'claimed';
      metrics.claimWait.observe({ outcome }, waitMs / 1000);
    },
  };
}
