/**
 * Delivery modes as pure functions. A notification is about one command and goes to a *target*:
 * a fanout subscription on its own (`s:<id>`), a group (`g:<groupId>`: one member, round-robin) or
 * a hash group (`h:<groupId>`: one member, chosen by rendezvous hashing of the member ids with the
 * command, so the choice is stable and moves only for the commands of a member that comes or goes).
 * The rate limit is kept per target and command.
 */
import { createHash } from 'node:crypto';
import type { Subscription } from './subscription.store.js';

/** The target a subscription's notifications count against. */
export function targetOf(sub: Subscription): string {
  if (sub.deliveryMode === 'group') return `g:${sub.groupId ?? ''}`;
  if (sub.deliveryMode === 'hash') return `h:${sub.groupId ?? ''}`;
  return `s:${sub.id}`;
}

/** The rate-limit member of a target and command. */
export function memberOf(target: string, command: string): string {
  return `${target}|${command}`;
}

/** Splits a member back (commands never contain `|`). */
export function parseMember(member: string): { target: string; command: string } {
  const bar = member.lastIndexOf('|');
  return { target: member.slice(0, bar), command: member.slice(bar + 1) };
}

/** True when `sub` is live at `now` and follows `command`. */
export function follows(sub: Subscription, command: string, now: number): boolean {
  return sub.expiresAt > now && sub.commands.includes(command);
}

/** The live subscriptions of a target that follow a command (sorted by id) and the target's interval. */
export function targetMembers(
  target: string,
  command: string,
  subs: Iterable<Subscription>,
  now: number,
): { members: Subscription[]; intervalMs: number } {
  const members: Subscription[] = [];
  for (const sub of subs) if (targetOf(sub) === target && follows(sub, command, now)) members.push(sub);
  members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // The longest interval of the members, so no member is ever notified more often than it asked.
  const intervalMs = members.reduce((max, s) => Math.max(max, s.minIntervalSeconds * 1000), 0);
  return { members, intervalMs };
}

/** Rendezvous (highest random weight) choice of one member for a command. */
export function pickByHash(members: readonly Subscription[], command: string): Subscription | undefined {
  let best: Subscription | undefined;
  let bestWeight = '';
  for (const sub of members) {
    const weight = createHash('sha256').update(`${sub.id}|${command}`).digest('hex');
    if (best === undefined || weight > bestWeight) {
      best = sub;
      bestWeight = weight;
    }
  }
  return best;
}

/**
 * Who receives one notification of a target: every member for fanout (there is one), the member
 * at `roundRobin` (mod size) for a group, the rendezvous choice for a hash group.
 */
export function chooseRecipient(
  target: string,
  members: readonly Subscription[],
  command: string,
  roundRobin: number,
): Subscription | undefined {
  if (members.length === 0) return undefined;
  if (target.startsWith('g:')) return members[roundRobin % members.length];
  if (target.startsWith('h:')) return pickByHash(members, command);
  return members[0];
}
