/**
 * The one definition of what TypeScript and the Lua scripts must agree on by position or formula:
 * the layout of the compact op `apply.lua` takes (built by `event.projection.ts`) and the ready
 * score. The scripts get both as generated includes (`lua-scripts.ts`), so a field moved here moves
 * in Lua too, and `op[OP_E_RUN_AT]` costs Redis exactly what `op[8]` did.
 */

/**
 * Fields every op starts with, in order: `[taskId, seq, code, at, ...]`. Values are decimal
 * strings (exact for any safe integer), JSON strings or null.
 */
const OP_HEAD = ['id', 'seq', 'code', 'at'] as const;

/**
 * The fields after the head, in order, by op code. Each code is one event type (or two that
 * `apply.lua` handles alike): E enqueued, S snapshot, C claimed, H heartbeat, G progressed, N nacked,
 * L leaseExpired, T rateLimited, A abandoned, R requeued, D completed, F failed, Q dlq, X cancelled,
 * Z deleted (an admin removed a dead-lettered task), K a history-only
 * webhook outcome. `reservedUntil` is set only for a task handed straight to a claimer, and an op
 * ends before it otherwise (a JSON null would be truthy in Lua).
 */
export const OP_FIELDS = {
  E: [
    'priority',
    'maxAttempts',
    'payload',
    'runAt',
    'webhook',
    'idempotencyKey',
    'traceParent',
    'traceState',
    'readyScore',
    'groupKey',
    'reservedUntil',
  ],
  S: [
    'status',
    'payload',
    'priority',
    'maxAttempts',
    'attempts',
    'readySeq',
    'createdAt',
    'updatedAt',
    'runAt',
    'workerId',
    'leaseUntil',
    'webhook',
    'idempotencyKey',
    'error',
    'traceParent',
    'traceState',
    'groupKey',
    'progress',
  ],
  C: ['attempts', 'workerId', 'leaseUntil'],
  H: ['leaseUntil'],
  G: ['progress'],
  N: ['runAt', 'reason'],
  L: ['runAt'],
  T: ['runAt', 'attempts'],
  A: [],
  R: [],
  D: ['result', 'artifacts'],
  F: ['error', 'artifacts'],
  Q: ['reason'],
  X: ['reason'],
  Z: [],
  K: [],
} as const satisfies Record<string, readonly string[]>;

/** An op code. */
export type OpCode = keyof typeof OP_FIELDS;

/** A field of ops of code `C`. */
export type OpField<C extends OpCode> = (typeof OP_FIELDS)[C][number];

/** The values of an op of code `C`, by field name (`reservedUntil` is added by the apply). */
export type OpValues<C extends OpCode> = Record<Exclude<OpField<C>, 'reservedUntil'>, string | null>;

/** The 0-based index (in the TypeScript array) of field `field` of ops of code `code`. */
export function opIndex<C extends OpCode>(code: C, field: OpField<C>): number {
  return OP_HEAD.length + (OP_FIELDS[code] as readonly string[]).indexOf(field);
}

/** Highest priority (claimed first); priorities run 0..9. */
export const MAX_PRIORITY = 9;

/** The ready score's priority step, 2^44: scores stay exact below 2^53 for 2^44 sequences. */
export const PRIORITY_STEP = 2 ** 44;

/**
 * A ready task's score in the `ready` index: priority first (9 claimed first), then FIFO by the
 * sequence that made it ready. The Lua side is `includes/ready-score.lua`, with the same constants.
 */
export function readyScore(priority: number, readySeq: number): number {
  return (MAX_PRIORITY - priority) * PRIORITY_STEP + readySeq;
}

/** `readySeq` → `READY_SEQ`. */
function luaName(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/**
 * Fields `apply.lua` reads at one position for two codes it handles in one branch (nacked and
 * leaseExpired, completed and failed): checked when the include is generated.
 */
const SHARED_POSITIONS = [
  [opIndex('N', 'runAt'), opIndex('L', 'runAt')],
  [opIndex('D', 'artifacts'), opIndex('F', 'artifacts')],
] as const;

/**
 * The generated include `op-layout`: one Lua local per op field, `OP_<CODE>_<FIELD>` (and
 * `OP_ID`, `OP_SEQ`, `OP_CODE`, `OP_AT`), holding its 1-based position. `apply.lua` includes it
 * inside its loop's function, where the locals are registers: an index through one costs what a
 * literal index did.
 */
export function opLayoutLua(): string {
  for (const [a, b] of SHARED_POSITIONS) {
    if (a !== b)
      throw new Error('op-layout.ts: apply.lua reads nacked/leaseExpired and completed/failed alike');
  }
  const names: string[] = [];
  const positions: number[] = [];
  OP_HEAD.forEach((field, i) => {
    names.push(`OP_${luaName(field)}`);
    positions.push(i + 1);
  });
  for (const [code, fields] of Object.entries(OP_FIELDS)) {
    (fields as readonly string[]).forEach((field, i) => {
      names.push(`OP_${code}_${luaName(field)}`);
      positions.push(OP_HEAD.length + i + 1);
    });
  }
  // One `local` per line: Lua allows at most 200 locals per function, far above this.
  const lines = names.map((name, i) => `local ${name} = ${positions[i]}`);
  return `-- Generated from op-layout.ts: positions of the op fields.\n${lines.join('\n')}\n`;
}

/** The generated include `constants`: the ready score's constants. */
export function constantsLua(): string {
  return (
    '-- Generated from op-layout.ts.\n' +
    `local MAX_PRIORITY = ${MAX_PRIORITY}\n` +
    `local PRIORITY_STEP = ${PRIORITY_STEP}\n`
  );
}
