import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Http1ResponseParser,
  HttpParseError,
  type ResponseHead,
} from '../../../src/transport/http1-response-parser.ts';

interface Seen {
  heads: ResponseHead[];
  body: Buffer;
  completed: number;
}

function parser(): { p: Http1ResponseParser; seen: Seen } {
  const seen: Seen = { heads: [], body: Buffer.alloc(0), completed: 0 };
  const p = new Http1ResponseParser({
    onHead: (h) => seen.heads.push(h),
    onBody: (c) => {
      seen.body = Buffer.concat([seen.body, c]);
    },
    onComplete: () => {
      seen.completed++;
    },
  });
  return { p, seen };
}

/** Feeds `bytes` cut at the given offsets. */
function feed(p: Http1ResponseParser, bytes: Buffer, cuts: number[] = []): void {
  let from = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (cut <= from || cut >= bytes.length) continue;
    p.execute(bytes.subarray(from, cut));
    from = cut;
  }
  p.execute(bytes.subarray(from));
}

function chunked(body: Buffer, sizes: number[]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= body.length) break;
    const piece = body.subarray(at, at + Math.max(1, size));
    parts.push(Buffer.from(`${piece.length.toString(16)};ext=1\r\n`), piece, Buffer.from('\r\n'));
    at += piece.length;
  }
  if (at < body.length) {
    const rest = body.subarray(at);
    parts.push(Buffer.from(`${rest.length.toString(16)}\r\n`), rest, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\nx-trailer: 1\r\n\r\n'));
  return Buffer.concat(parts);
}

describe('HTTP/1.1 response parser', () => {
  it('reads a Content-Length response in one chunk and keeps the connection', () => {
    const { p, seen } = parser();
    p.expectResponse();
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: x\r\ncontent-length: 5\r\n\r\nhello'));
    assert.deepEqual(seen.heads, [{ statusCode: 200, keepAlive: true }]);
    assert.equal(seen.body.toString(), 'hello');
    assert.equal(seen.completed, 1);
    assert.equal(p.active, false);
  });

  it('reads the same response fed one byte at a time', () => {
    const { p, seen } = parser();
    p.expectResponse();
    const bytes = Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length : 11\r\n\r\n{"error":1}');
    for (let i = 0; i < bytes.length; i++) p.execute(bytes.subarray(i, i + 1));
    assert.deepEqual(seen.heads, [{ statusCode: 400, keepAlive: true }]);
    assert.equal(seen.body.toString(), '{"error":1}');
    assert.equal(seen.completed, 1);
  });

  it('de-chunks a chunked body with extensions and trailers, split anywhere (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.array(fc.integer({ min: 1, max: 80 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (body, sizes, cutSeeds) => {
          const { p, seen } = parser();
          const response = Buffer.concat([
            Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
            chunked(Buffer.from(body), sizes),
          ]);
          p.expectResponse();
          feed(
            p,
            response,
            cutSeeds.map((s) => s % response.length),
          );
          assert.equal(seen.completed, 1);
          assert.deepEqual(seen.body, Buffer.from(body));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads a Content-Length body split anywhere (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (body, cutSeeds) => {
          const { p, seen } = parser();
          const response = Buffer.concat([
            Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`),
            Buffer.from(body),
          ]);
          p.expectResponse();
          feed(
            p,
            response,
            cutSeeds.map((s) => s % response.length),
          );
          assert.equal(seen.completed, 1);
          assert.deepEqual(seen.body, Buffer.from(body));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('skips an interim 100 Continue and reads the final response', () => {
    const { p, seen } = parser();
    p.expectResponse();
    p.execute(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    assert.deepEqual(seen.heads, [{ statusCode: 200, keepAlive: true }]);
    assert.equal(seen.body.toString(), 'ok');
  });

  it('completes 204 at once and honours Connection: close and HTTP/1.0', () => {
    const a = parser();
    a.p.expectResponse();
    a.p.execute(Buffer.from('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'));
    assert.deepEqual(a.seen.heads, [{ statusCode: 204, keepAlive: false }]);
    assert.equal(a.seen.completed, 1);

    const b = parser();
    b.p.expectResponse();
    b.p.execute(Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'));
    assert.deepEqual(b.seen.heads, [{ statusCode: 200, keepAlive: false }]);

    const c = parser();
    c.p.expectResponse();
    c.p.execute(Buffer.from('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n'));
    assert.deepEqual(c.seen.heads, [{ statusCode: 200, keepAlive: true }]);
  });

  it('reads a body without length until the connection ends, and tells a cut response apart', () => {
    const { p, seen } = parser();
    p.expectResponse();
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\nabc'));
    p.execute(Buffer.from('def'));
    assert.equal(seen.completed, 0);
    assert.equal(p.finish(), true);
    assert.equal(seen.completed, 1);
    assert.equal(seen.body.toString(), 'abcdef');
    assert.deepEqual(seen.heads, [{ statusCode: 200, keepAlive: false }]);

    const cut = parser();
    cut.p.expectResponse();
    cut.p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    assert.equal(cut.p.finish(), false);
    assert.equal(cut.seen.completed, 0);
    assert.equal(cut.p.active, false);
  });

  it('refuses malformed responses and bytes nobody asked for', () => {
    const cases = [
      'HTTP/2 200 OK\r\n\r\n',
      'HTTP/1.1 20 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXY',
      'HTTP/1.1 101 Switching Protocols\r\n\r\n',
    ];
    for (const text of cases) {
      const { p } = parser();
      p.expectResponse();
      assert.throws(() => p.execute(Buffer.from(text)), HttpParseError, text);
    }
    const { p } = parser();
    assert.throws(() => p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), /unexpected bytes/);
    p.expectResponse();
    assert.throws(
      () => p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab')),
      /unexpected bytes/,
    );
  });

  it('refuses a head larger than the limit', () => {
    const { p } = parser();
    p.expectResponse();
    const filler = Buffer.from(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(1000)}\r\n`);
    assert.throws(() => {
      for (let i = 0; i < 100; i++) p.execute(filler);
    }, /too large/);
  });
});
