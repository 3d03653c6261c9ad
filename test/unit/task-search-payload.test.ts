import { describe, expect, it } from 'vitest';
import { payloadValueAt } from '../../src/engine/task-search.js';

describe('payloadValueAt', () => {
  it('reads a dotted path of the JSON payload, objects as their JSON', () => {
    const payload = JSON.stringify({ customer: { id: 'c1', tags: ['a'] }, n: 2 });
    expect(payloadValueAt(payload, 'customer.id')).toBe('c1');
    expect(payloadValueAt(payload, 'customer.tags')).toBe('["a"]');
    expect(payloadValueAt(payload, 'n')).toBe('2');
    expect(payloadValueAt(payload, 'customer.name')).toBeUndefined();
  });

  it("finds only the payload's own fields, not the prototype's", () => {
    const payload = JSON.stringify({ customer: { id: 'c1' } });
    // Without this, `payloadPath=__proto__&payloadValue={}` matched every task with an object payload.
    expect(payloadValueAt(payload, '__proto__')).toBeUndefined();
    expect(payloadValueAt(payload, 'customer.__proto__')).toBeUndefined();
    expect(payloadValueAt(payload, 'customer.hasOwnProperty')).toBeUndefined();
    expect(payloadValueAt(JSON.stringify(['x']), 'length')).toBe('1');
  });
});
