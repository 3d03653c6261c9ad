/**
 * `events.replay`: the log's events, one command's or every command's, from a sequence or a time
 * up to a time, streamed to the requester as pages (`{"events":[…], "nextSeq": n}`, header
 * `Codeq-Replay-More: true`), ended by a page without events whose `Codeq-Replay-More` says
 * whether the log holds more that this request did not send (its page cap): the client resumes
 * with `fromSeq: nextSeq`. Admin only, as `GET /admin/events`; without `command`, a token for every
 * event type.
 */
import { headers } from '@nats-io/transport-node';
import Type from 'typebox';
import { assertAllCommands, assertCommandAllowed } from '../api/auth/auth.types.js';
import { ApiRefusal } from '../api/error-mapper.js';
import { eventJson } from '../api/task-json.js';
import { EventsQuery, FROM_TIME_MESSAGE } from '../contract/admin.schema.js';
import { Command, Rfc3339 } from '../contract/common.schema.js';
import { parseRfc3339 } from '../contract/rfc3339.js';
import type { ServiceMsg } from '@nats-io/services';
import type { NatsEndpointContext } from './nats-context.js';
import { addNatsEndpoint, REPLIED } from './nats-endpoint.js';

/** Header of every replay message: `true` while pages follow; on the last, whether to resume. */
export const REPLAY_MORE_HEADER = 'Codeq-Replay-More';

/** Log pages one request sends at most (the client resumes from `nextSeq` for more). */
export const REPLAY_PAGES_MAX = 100;

/** Share of the server's max payload a page fills at most (the JSON envelope takes the rest). */
const PAGE_PAYLOAD_SHARE = 0.9;

const TO_TIME_MESSAGE = "invalid 'toTime' (use RFC3339)";

/** `{command?, fromSeq?, fromTime?, toTime?, limit?}`: `limit` is the events per page. */
const ReplayBody = Type.Object(
  {
    command: Type.Optional(Command),
    fromSeq: EventsQuery.properties.fromSeq,
    fromTime: EventsQuery.properties.fromTime,
    toTime: Type.Optional(Rfc3339(TO_TIME_MESSAGE)),
    limit: EventsQuery.properties.limit,
  },
  { additionalProperties: false },
);

/** Sends one replay message. */
function send(msg: ServiceMsg, page: { events: unknown[]; nextSeq: number }, more: boolean): void {
  const h = headers();
  h.set(REPLAY_MORE_HEADER, String(more));
  // `@nats-io/services` types its options with its own copy of nats-core; the headers are ours.
  msg.respond(JSON.stringify(page), { headers: h } as unknown as Parameters<ServiceMsg['respond']>[1]);
}

/** Adds `events.replay`. */
export function addReplayEndpoint(ctx: NatsEndpointContext): void {
  const { engine, group, deps, nc } = ctx;
  addNatsEndpoint(
    group,
    {
      subject: 'events.replay',
      reads: true,
      policy: { kind: 'admin' },
      body: ReplayBody,
      async handle({ body, principal, msg, signal }) {
        // The log holds every command's events (payloads, results).
        if (body.command === undefined) assertAllCommands(principal);
        else assertCommandAllowed(principal, body.command);
        const time = (text: string | undefined, message: string) => {
          if (text === undefined) return undefined;
          const at = parseRfc3339(text);
          if (at === undefined) throw new ApiRefusal(400, message);
          return at;
        };
        const fromTime = time(body.fromTime, FROM_TIME_MESSAGE);
        const toTime = time(body.toTime, TO_TIME_MESSAGE) ?? Number.POSITIVE_INFINITY;
        const maxBytes = Math.floor((nc.info?.max_payload ?? 1024 * 1024) * PAGE_PAYLOAD_SHARE);
        let nextSeq = body.fromSeq ?? 1;
        let first = true;
        for (let pages = 0; pages < REPLAY_PAGES_MAX; pages++) {
          if (signal.aborted) break;
          const page = await engine.readEvents({
            ...(first && fromTime !== undefined && body.fromSeq === undefined
              ? { fromTime }
              : { fromSeq: nextSeq }),
            ...(body.limit === undefined ? {} : { limit: body.limit }),
            ...(body.command === undefined ? {} : { command: body.command }),
          });
          first = false;
          const inRange = page.events.filter((e) => e.at <= toTime);
          // Split so that no message exceeds the server's max payload.
          let chunk: unknown[] = [];
          let bytes = 0;
          for (const e of inRange) {
            const json = eventJson(e);
            const size = Buffer.byteLength(JSON.stringify(json));
            if (chunk.length > 0 && bytes + size > maxBytes) {
              send(msg, { events: chunk, nextSeq }, true);
              chunk = [];
              bytes = 0;
            }
            chunk.push(json);
            bytes += size;
            nextSeq = e.seq + 1;
          }
          if (chunk.length > 0) send(msg, { events: chunk, nextSeq }, true);
          if (inRange.length < page.events.length || page.events.length === 0) {
            // Past `toTime`, or the end of the log: nothing more to resume from.
            if (page.events.length === 0) nextSeq = page.nextSeq;
            send(msg, { events: [], nextSeq }, false);
            return REPLIED;
          }
        }
        send(msg, { events: [], nextSeq }, true);
        return REPLIED;
      },
    },
    deps,
  );
}
