/** Schemas of the worker-availability subscription operations. */
import Type from 'typebox';
import { Command } from './common.schema.js';
import {
  CLAIM_COMMANDS_MAX,
  GROUP_ID_PATTERN,
  SUBSCRIPTION_MIN_INTERVAL_SECONDS_MAX,
  SUBSCRIPTION_TTL_SECONDS_DEFAULT,
  SUBSCRIPTION_TTL_SECONDS_MAX,
  URL_MAX_LENGTH,
} from './limits.js';
import { MESSAGES } from './messages.js';

const TtlSeconds = Type.Integer({
  minimum: 0,
  maximum: SUBSCRIPTION_TTL_SECONDS_MAX,
  description: `seconds; 0 or absent: ${SUBSCRIPTION_TTL_SECONDS_DEFAULT}`,
});

/** Subscribe body. Contract strings for bad values come from `x-error`. */
export const SubscribeBody = Type.Object(
  {
    callbackUrl: Type.Optional(
      Type.String({
        maxLength: URL_MAX_LENGTH,
        description: 'absolute http(s) URL (required)',
        'x-error': MESSAGES.callbackUrl,
      }),
    ),
    eventTypes: Type.Optional(
      Type.Array(Command, {
        maxItems: CLAIM_COMMANDS_MAX,
        description: "commands to follow; default: the token's eventTypes",
      }),
    ),
    ttlSeconds: Type.Optional(TtlSeconds),
    deliveryMode: Type.Optional(
      Type.String({ description: 'fanout (default), group, hash', 'x-error': MESSAGES.deliveryMode }),
    ),
    groupId: Type.Optional(
      Type.String({
        pattern: GROUP_ID_PATTERN.source,
        description: 'required for group; optional for hash',
        'x-error': MESSAGES.groupId,
      }),
    ),
    minIntervalSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: SUBSCRIPTION_MIN_INTERVAL_SECONDS_MAX,
        description: 'default subscriptionMinIntervalSeconds (5)',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Subscription heartbeat body (optional). */
export const SubscriptionHeartbeatBody = Type.Object(
  { ttlSeconds: Type.Optional(TtlSeconds) },
  { additionalProperties: false },
);

/** Subscribe and heartbeat answer. */
export const SubscriptionLeaseSchema = Type.Object({
  subscriptionId: Type.String(),
  expiresAt: Type.String({ description: 'RFC 3339' }),
});

/** One subscription as listed. */
export const SubscriptionSchema = Type.Object({
  subscriptionId: Type.String(),
  callbackUrl: Type.String(),
  eventTypes: Type.Array(Type.String()),
  deliveryMode: Type.String(),
  groupId: Type.Optional(Type.String()),
  minIntervalSeconds: Type.Integer(),
  ttlSeconds: Type.Integer(),
  createdAt: Type.String(),
  expiresAt: Type.String(),
});
