/**
 * Schemas of the dashboard's routes (issue 17): the session, the overview, the task search, the
 * workers seen, and the DLQ bulk actions. Transport-neutral like the rest of `src/contract`.
 */
import Type from 'typebox';

/** The server's version, as the session answer and the OpenAPI document name it. */
export const SERVER_VERSION = '0.1.0';

/** `GET /ui/api/session`: who the token is and whether the dashboard may offer actions. */
export const SessionSchema = Type.Object({
  subject: Type.String({ description: "the caller's identity, recorded as the actor of its actions" }),
  role: Type.Union([
    Type.Literal('admin'),
    Type.Literal('viewer'),
    Type.Literal('producer'),
    Type.Literal('worker'),
  ]),
  canAct: Type.Boolean({ description: 'false for a viewer (every change answers 403)' }),
  version: Type.String(),
});
