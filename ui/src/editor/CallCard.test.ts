import { describe, expect, it } from 'vitest';
import { callHeadline } from './CallCard';

describe('callHeadline', () => {
  it('says a call the AI handed on ended, and where it went', () => {
    const cases: [Parameters<typeof callHeadline>[0], string][] = [
      // Held for the flow: the result was written while the line was open (in_progress).
      [{ status: 'in_progress', end_reason: 'transferred', transfer: { pending: true, reason: 'billing' } }, "Call ended · held for the flow's transfer"],
      [{ status: 'completed', end_reason: 'transferred', transfer: { target: { kind: 'agent', to: 'alice', mode: 'warm' } } }, 'Call ended · transferred to agent:alice'],
      [{ status: 'completed', end_reason: 'transferred', transfer: { target: { kind: 'number', to: '+4930123', mode: 'blind' } } }, 'Call ended · transferred to +4930123'],
      [{ status: 'completed', end_reason: 'agent_hangup', transfer: { target: { kind: 'number', to: '+4930123' }, dial_status: 'busy' } }, 'Call completed'],
      [{ status: 'busy' }, 'Call busy'],
      [{ direction: 'transfer', status: 'completed', transfer: { target: { kind: 'agent', to: 'alice' } } }, 'Transfer done · transferred to agent:alice'],
      [{ direction: 'transfer', status: 'failed', to: 'agent:bob' }, 'Transfer failed'],
    ];
    for (const [r, want] of cases) expect(callHeadline(r)).toBe(want);
  });
  it('never says in progress for a held call', () => {
    expect(callHeadline({ status: 'in_progress', end_reason: 'transferred', transfer: { pending: true } })).not.toMatch(/in progress/);
  });
});
