/**
 * Incremental HTTP/1.1 response parser for the infer hot path (one response per request, no pipelining):
 * status line and headers, then a body framed by Content-Length, chunked transfer coding, or the end of the
 * connection. Interim 1xx responses are skipped. Body bytes are handed on as views into the input (no copy);
 * nothing else is kept. Pure: bytes in, sink calls out; a malformed response throws HttpParseError.
 */

export interface ResponseHead {
  statusCode: number;
  /** False when the server will close the connection after this response (Connection: close, HTTP/1.0, read-until-close body). */
  keepAlive: boolean;
  /** KServe's Inference-Header-Content-Length (binary tensor extension: the JSON header's length), if sent. */
  inferenceHeaderLength?: number;
}

export interface ResponseSink {
  onHead(head: ResponseHead): void;
  /** A piece of the (de-chunked) body: a view, valid only during the call. */
  onBody(chunk: Uint8Array): void;
  onComplete(): void;
}

export class HttpParseError extends Error {
  readonly code = 'HTTP_PARSE';
}

/** Larger status line + headers than this is refused (Node's own limit is 16 KiB; Triton's are small). */
export const MAX_HEAD_BYTES = 64 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const HEAD_END = Buffer.from('\r\n\r\n');
const STATUS_LINE_RE = /^HTTP\/1\.[01] \d{3}(?: |$)/;

type State =
  | 'idle'
  | 'head'
  | 'length'
  | 'chunkSize'
  | 'chunkData'
  | 'chunkDataEnd'
  | 'trailers'
  | 'untilClose';

export class Http1ResponseParser {
  private state: State = 'idle';
  /** Head bytes seen so far when the head spans several chunks. */
  private headParts: Buffer[] = [];
  private headLength = 0;
  /** Bytes left of the current Content-Length body or chunk. */
  private remaining = 0;
  /** Partial chunk-size or trailer line. */
  private line = '';
  /** CR/LF bytes still expected after a chunk's data. */
  private crlfLeft = 0;
  /** The current response's Content-Length, once its head is read; undefined for other framings. */
  bodyLength: number | undefined;

  constructor(private readonly sink: ResponseSink) {}

  /** Expect a response now (a request was written). */
  expectResponse(): void {
    if (this.state !== 'idle') throw new Error('Http1ResponseParser: a response is already being read');
    this.state = 'head';
    this.headParts = [];
    this.headLength = 0;
    this.bodyLength = undefined;
  }

  /** True while a response is expected or being read. */
  get active(): boolean {
    return this.state !== 'idle';
  }

  /** Feeds received bytes. Bytes with no response expected, or after the response in the same chunk, are an error. */
  execute(data: Buffer): void {
    let pos = 0;
    const end = data.length;
    while (pos < end) {
      switch (this.state) {
        case 'idle':
          throw new HttpParseError(`${end - pos} unexpected bytes from the server with no request pending`);
        case 'head':
          pos = this.readHead(data, pos);
          break;
        case 'length': {
          const n = Math.min(this.remaining, end - pos);
          this.sink.onBody(data.subarray(pos, pos + n));
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.complete();
          break;
        }
        case 'untilClose':
          this.sink.onBody(pos === 0 ? data : data.subarray(pos));
          pos = end;
          break;
        case 'chunkSize':
        case 'trailers':
          pos = this.readLine(data, pos);
          break;
        case 'chunkData': {
          const n = Math.min(this.remaining, end - pos);
          this.sink.onBody(data.subarray(pos, pos + n));
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = 'chunkDataEnd';
            this.crlfLeft = 2;
          }
          break;
        }
        case 'chunkDataEnd': {
          const expected = this.crlfLeft === 2 ? CR : LF;
          if (data[pos] !== expected) throw new HttpParseError('missing CRLF after chunk data');
          pos++;
          if (--this.crlfLeft === 0) this.state = 'chunkSize';
          break;
        }
      }
    }
  }

  /**
   * The connection ended. Returns true when that completed the response (a body read until close);
   * false when a response was cut short or none was expected.
   */
  finish(): boolean {
    if (this.state === 'untilClose') {
      this.complete();
      return true;
    }
    this.state = 'idle';
    return false;
  }

  private complete(): void {
    this.state = 'idle';
    this.sink.onComplete();
  }

  private readHead(data: Buffer, pos: number): number {
    if (this.headLength === 0) {
      const endIdx = data.indexOf(HEAD_END, pos);
      if (endIdx < 0) {
        this.keepHeadPart(data.subarray(pos));
        return data.length;
      }
      this.onHeadText(data.toString('latin1', pos, endIdx));
      return endIdx + 4;
    }
    // The head spans chunks: search from 3 bytes before the new data, so a split CRLFCRLF is found.
    const joined = Buffer.concat([...this.headParts, data.subarray(pos)]);
    const endIdx = joined.indexOf(HEAD_END, Math.max(0, this.headLength - 3));
    if (endIdx < 0) {
      this.headParts = [joined];
      this.headLength = joined.length;
      if (this.headLength > MAX_HEAD_BYTES) throw new HttpParseError('response head too large');
      return data.length;
    }
    const consumed = endIdx + 4 - this.headLength;
    this.headParts = [];
    this.headLength = 0;
    this.onHeadText(joined.toString('latin1', 0, endIdx));
    return pos + consumed;
  }

  private keepHeadPart(part: Buffer): void {
    this.headParts.push(Buffer.from(part));
    this.headLength += part.length;
    if (this.headLength > MAX_HEAD_BYTES) throw new HttpParseError('response head too large');
  }

  /** Status line and headers (CRLF-separated, no final blank line). Hot: no split, no regex per header. */
  private onHeadText(text: string): void {
    const firstEnd = text.indexOf('\r\n');
    const statusLine = firstEnd < 0 ? text : text.slice(0, firstEnd);
    if (!STATUS_LINE_RE.test(statusLine))
      throw new HttpParseError(`invalid status line '${statusLine.slice(0, 80)}'`);
    const http10 = statusLine.charCodeAt(7) === 0x30; // "HTTP/1.0"
    const statusCode = Number(statusLine.slice(9, 12));
    let contentLength: number | undefined;
    let chunked = false;
    let close = http10;
    let inferenceHeaderLength: number | undefined;
    let pos = firstEnd < 0 ? text.length : firstEnd + 2;
    while (pos < text.length) {
      let lineEnd = text.indexOf('\r\n', pos);
      if (lineEnd < 0) lineEnd = text.length;
      const colon = text.indexOf(':', pos);
      if (colon <= pos || colon > lineEnd)
        throw new HttpParseError(`invalid header line '${text.slice(pos, Math.min(lineEnd, pos + 80))}'`);
      let nameEnd = colon;
      while (nameEnd > pos && text.charCodeAt(nameEnd - 1) === 0x20) nameEnd--;
      const nameLength = nameEnd - pos;
      // Only four headers matter; compare names of their length alone.
      if (nameLength === 14 || nameLength === 17 || nameLength === 10 || nameLength === 31) {
        const name = text.slice(pos, nameEnd).toLowerCase();
        const value = text.slice(colon + 1, lineEnd).trim();
        if (name === 'content-length') {
          if (!/^\d+$/.test(value)) throw new HttpParseError(`invalid Content-Length '${value}'`);
          const n = Number(value);
          if (contentLength !== undefined && contentLength !== n)
            throw new HttpParseError('conflicting Content-Length headers');
          contentLength = n;
        } else if (name === 'transfer-encoding') {
          const codings = value.toLowerCase().split(',');
          chunked = codings[codings.length - 1]?.trim() === 'chunked';
        } else if (name === 'connection') {
          const tokens = value
            .toLowerCase()
            .split(',')
            .map((t) => t.trim());
          if (tokens.includes('close')) close = true;
          else if (http10 && tokens.includes('keep-alive')) close = false;
        } else if (name === 'inference-header-content-length' && /^\d+$/.test(value)) {
          inferenceHeaderLength = Number(value);
        }
      }
      pos = lineEnd + 2;
    }
    if (statusCode >= 100 && statusCode < 200) {
      if (statusCode === 101) throw new HttpParseError('unexpected protocol switch (101)');
      this.state = 'head'; // interim response: the final one follows
      return;
    }
    const head: ResponseHead = { statusCode, keepAlive: !close };
    if (inferenceHeaderLength !== undefined) head.inferenceHeaderLength = inferenceHeaderLength;
    if (statusCode === 204 || statusCode === 304) {
      this.sink.onHead(head);
      this.complete();
    } else if (chunked) {
      this.sink.onHead(head);
      this.state = 'chunkSize';
      this.line = '';
    } else if (contentLength !== undefined) {
      this.bodyLength = contentLength;
      this.sink.onHead(head);
      if (contentLength === 0) this.complete();
      else {
        this.state = 'length';
        this.remaining = contentLength;
      }
    } else {
      head.keepAlive = false;
      this.sink.onHead(head);
      this.state = 'untilClose';
    }
  }

  /** Reads a chunk-size or trailer line (up to LF) and acts on it when complete. */
  private readLine(data: Buffer, pos: number): number {
    const lf = data.indexOf(LF, pos);
    if (lf < 0) {
      this.line += data.toString('latin1', pos);
      if (this.line.length > MAX_HEAD_BYTES) throw new HttpParseError('chunk line too long');
      return data.length;
    }
    let line = this.line + data.toString('latin1', pos, lf);
    this.line = '';
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (this.state === 'trailers') {
      if (line === '') this.complete();
      return lf + 1;
    }
    const sizeText = (line.split(';', 1)[0] as string).trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new HttpParseError(`invalid chunk size '${sizeText}'`);
    const size = Number.parseInt(sizeText, 16);
    if (size === 0) this.state = 'trailers';
    else {
      this.state = 'chunkData';
      this.remaining = size;
    }
    return lf + 1;
  }
}
