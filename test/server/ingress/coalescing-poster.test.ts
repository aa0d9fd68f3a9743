import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { CoalescingPoster, MAX_GROUP } from '../../../embedded-server/src/ingress/coalescing-poster.ts';

type Msg = { t: 'm'; id: number; data?: Uint8Array } | { t: 'bad'; id: number; f: () => void };

function drain(port: import('node:worker_threads').MessagePort): unknown[] {
  const out: unknown[] = [];
  for (let r = receiveMessageOnPort(port); r; r = receiveMessageOnPort(port)) out.push(r.message);
  return out;
}

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('CoalescingPoster', () => {
  it('posts the messages of one turn as one group, in order, with their buffers transferred', async () => {
    const { port1, port2 } = new MessageChannel();
    const poster = new CoalescingPoster<Msg>(port1, () => assert.fail('no post error expected'));
    const buffers = [1, 2, 3].map((n) => new Uint8Array([n, n]));
    for (const [i, b] of buffers.entries())
      poster.post({ t: 'm', id: i, data: b }, [b.buffer as ArrayBuffer]);
    assert.deepEqual(drain(port2), [], 'nothing leaves before the turn ends');
    assert.equal(poster.waiting(), 3);
    await immediate();
    const got = drain(port2) as { t: string; messages: { id: number; data: Uint8Array }[] }[];
    assert.equal(got.length, 1);
    assert.equal(got[0]?.t, 'group');
    assert.deepEqual(
      got[0]?.messages.map((m) => [m.id, [...m.data]]),
      [
        [0, [1, 1]],
        [1, [2, 2]],
        [2, [3, 3]],
      ],
    );
    assert.ok(
      buffers.every((b) => b.byteLength === 0),
      'transferred, not copied: the senders views are detached',
    );
    port1.close();
  });

  it('a lone message goes as itself, not wrapped in a group', async () => {
    const { port1, port2 } = new MessageChannel();
    const poster = new CoalescingPoster<Msg>(port1, () => assert.fail('no post error expected'));
    poster.post({ t: 'm', id: 7 });
    await immediate();
    assert.deepEqual(drain(port2), [{ t: 'm', id: 7 }]);
    port1.close();
  });

  it(`flushes at once when ${MAX_GROUP} are waiting, so a burst never builds up`, () => {
    const { port1, port2 } = new MessageChannel();
    const poster = new CoalescingPoster<Msg>(port1, () => assert.fail('no post error expected'));
    for (let i = 0; i < MAX_GROUP; i++) poster.post({ t: 'm', id: i });
    const got = drain(port2) as { messages: unknown[] }[];
    assert.equal(got.length, 1);
    assert.equal(got[0]?.messages.length, MAX_GROUP);
    assert.equal(poster.waiting(), 0);
    port1.close();
  });

  it('a message that cannot be cloned is reported alone; the rest of its group still arrives', async () => {
    const { port1, port2 } = new MessageChannel();
    const failed: number[] = [];
    const poster = new CoalescingPoster<Msg>(port1, (m) => failed.push(m.id));
    const b = new Uint8Array([9]);
    poster.post({ t: 'm', id: 1, data: b }, [b.buffer as ArrayBuffer]);
    poster.post({ t: 'bad', id: 2, f: () => undefined });
    poster.post({ t: 'm', id: 3 });
    await immediate();
    assert.deepEqual(failed, [2]);
    const got = drain(port2) as { id: number; data?: Uint8Array }[];
    assert.deepEqual(
      got.map((m) => m.id),
      [1, 3],
    );
    assert.deepEqual([...(got[0]?.data ?? [])], [9], 'the buffer of the failed group was not lost');
    port1.close();
  });

  it('a message marked alone leaves at once when nothing waits, without waiting for the turn to end', async () => {
    const { port1, port2 } = new MessageChannel();
    const poster = new CoalescingPoster<Msg>(port1, () => assert.fail('no post error expected'));
    const b = new Uint8Array([5, 6]);
    poster.post({ t: 'm', id: 1, data: b }, [b.buffer as ArrayBuffer], true);
    const got = drain(port2) as { t: string; id: number; data: Uint8Array }[];
    assert.deepEqual(
      got.map((m) => [m.t, m.id, [...m.data]]),
      [['m', 1, [5, 6]]],
      'posted synchronously, as itself',
    );
    assert.equal(b.byteLength, 0, 'transferred');
    assert.equal(poster.waiting(), 0);
    await immediate();
    assert.deepEqual(drain(port2), [], 'nothing is posted twice');
    port1.close();
  });

  it('a message marked alone queues behind waiting ones, so order is kept', async () => {
    const { port1, port2 } = new MessageChannel();
    const poster = new CoalescingPoster<Msg>(port1, () => assert.fail('no post error expected'));
    poster.post({ t: 'm', id: 1 });
    poster.post({ t: 'm', id: 2 }, undefined, true);
    assert.deepEqual(drain(port2), [], 'the alone message does not overtake the waiting one');
    assert.equal(poster.waiting(), 2);
    await immediate();
    const got = drain(port2) as { messages: { id: number }[] }[];
    assert.deepEqual(
      got[0]?.messages.map((m) => m.id),
      [1, 2],
    );
    port1.close();
  });

  it('a message marked alone that cannot be cloned is reported, and the poster keeps working', async () => {
    const { port1, port2 } = new MessageChannel();
    const failed: number[] = [];
    const poster = new CoalescingPoster<Msg>(port1, (m) => failed.push(m.id));
    poster.post({ t: 'bad', id: 4, f: () => undefined }, undefined, true);
    assert.deepEqual(failed, [4]);
    poster.post({ t: 'm', id: 5 }, undefined, true);
    assert.deepEqual(drain(port2), [{ t: 'm', id: 5 }]);
    port1.close();
  });
});
