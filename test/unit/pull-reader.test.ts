import { describe, expect, it } from 'vitest';
import { deliveryInfo } from '../../src/events/pull-reader.js';

describe('deliveryInfo (a delivered message reply subject)', () => {
  it('reads the stream sequence and pending count of the old form', () => {
    // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
    expect(deliveryInfo('$JS.ACK.CODEQ_TASKS.c1.1.4207.12.1763800000000000000.991')).toEqual({
      seq: 4207,
      pending: 991,
    });
    expect(deliveryInfo('$JS.ACK.S.c.1.1.1.1.0')).toEqual({ seq: 1, pending: 0 });
  });

  it('reads the new form, with a domain and account hash and with or without a random token', () => {
    expect(deliveryInfo('$JS.ACK._.ACCHASH.S.c.1.9007199254740991.3.1763800000000000000.5')).toEqual({
      seq: 9007199254740991,
      pending: 5,
    });
    expect(deliveryInfo('$JS.ACK.hub.ACCHASH.S.c.2.77.3.1763800000000000000.0.r4nd0m')).toEqual({
      seq: 77,
      pending: 0,
    });
    // A later server adding tokens at the end is read the same way (as nats.js does).
    expect(deliveryInfo('$JS.ACK.hub.H.S.c.2.78.3.1763800000000000000.4.r.extra')).toEqual({
      seq: 78,
      pending: 4,
    });
  });

  it('refuses what is not a delivery reply', () => {
    for (const reply of [
      '',
      '_INBOX.abc.1',
      '$JS.API.CONSUMER.MSG.NEXT.S.c',
      '$JS.ACK.S.c.1.2.3.4', // too few tokens
      '$JS.ACK.S.c.1.2.3.4.5.6', // 10 tokens: neither form
      '$JS.ACK.S.c.1.x.1.1.0', // not a number
      '$JS.ACK.S.c.1.0.1.1.0', // sequence 0
      '$JS.ACK.S.c.1.-4.1.1.0',
      '$JS.ACK.S.c.1.5.1.1.', // empty pending
      `$JS.ACK.S.c.1.5.1.1.0${'.x'.repeat(30)}`, // far too many tokens
      '$JS.ACK.S.c.1.99999999999999999.1.1.0', // beyond a safe integer
    ]) {
      expect(deliveryInfo(reply), reply).toBeUndefined();
    }
  });
});
