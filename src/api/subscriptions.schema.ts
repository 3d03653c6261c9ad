/** Schemas of the worker-availability subscription routes. */
import Type from 'typebox';
import { Command } from './common.schema.js';

/** `POST /workers/subscriptions` body. Contract strings for bad values come from `x-error`. */
export const SubscribeBody = Type.Object(
  {
    callbackUrl: Type.Optional(
      Type.String({
        maxLength: 4096,
        description: 'absolute http(s) URL (required)',
        'x-error': 'invalid callback url',
      }),
    ),
    eventTypes: Type.Optional(
      Type.Array(Command, {
        maxItems: 64,
        description: "commands to follow; default: the token's eventTypes",
      }),
    ),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'default 300' })),
    deliveryMode: Type.Optional(
      Type.String({ description: 'fanout (default), group, hash', 'x-error': 'invalid deliveryMode' }),
    ),
    groupId: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.:-]{1,128}$',
        description: 'required for group; optional for hash',
        'x-error': 'invalid groupId',
      }),
    ),
    minIntervalSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 86_400,
        description: 'default subscriptionMinIntervalSeconds (5)',
      }),
    ),
  },
  { additionalProperties: false },
);

/** `POST /workers/subscriptions/:id/heartbeat` body (optional). */
export const SubscriptionHeartbeatBody = Type.Object(
  { ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'default 300' })) },
  { additionalProperties: false },
);

/** `:id` of a subscription. */
export const SubscriptionIdParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9a-f-]{36}$' }) },
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
