import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestAbort } from '../../../embedded-server/src/core/request-abort.ts';

describe('RequestAbort', () => {
  it('calls each listener once, in order, and never a removed one', () => {
    const abort = new RequestAbort();
    const calls: string[] = [];
    const removed = () => calls.push('removed');
    abort.addEventListener('abort', () => calls.push('a'));
    abort.addEventListener('abort', removed);
    abort.addEventListener('abort', () => calls.push('b'));
    abort.removeEventListener('abort', removed);
    assert.equal(abort.aborted, false);
    abort.abort();
    abort.abort();
    assert.equal(abort.aborted, true);
    assert.deepEqual(calls, ['a', 'b']);
  });

  it('ignores listeners added after the abort (callers check `aborted` first, as with an AbortSignal)', () => {
    const abort = new RequestAbort();
    abort.abort();
    let called = false;
    abort.addEventListener('abort', () => {
      called = true;
    });
    abort.abort();
    assert.equal(called, false);
  });

  it('removing a listener that was never added, or after the abort, is harmless', () => {
    const abort = new RequestAbort();
    abort.removeEventListener('abort', () => {});
    abort.abort();
    abort.removeEventListener('abort', () => {});
    assert.equal(abort.aborted, true);
  });
});
