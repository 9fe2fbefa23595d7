// A client that sends a request slowly over a raw TCP connection — headers,
// then body bytes trickled at a fixed rate — and reports what the server did:
// its answer, or that it closed the connection without one, or that the
// connection was still open when the client gave up. Used by the slow-client
// tests and bench/serving-slow-uploads.ts.
import { connect } from "node:net";

export interface SlowRequestOptions {
  port: number;
  /** The request line and headers as sent (end them with an empty line, or leave them unfinished). */
  head: string;
  /** Body bytes per second after the head, sent a quarter-second's worth at a time; 0 sends none. */
  bytesPerSecond: number;
  /** Body bytes to send at most. */
  bodyBytes: number;
  /** The client closes the connection itself after this long. */
  giveUpAfterMs: number;
}

export interface SlowRequestResult {
  /** The status code of the server's answer; undefined when it sent none. */
  status: number | undefined;
  /** Everything the server sent (status line, headers, body). */
  answer: string;
  /** True when the server had neither answered and closed nor closed by the time the client gave up. */
  stillOpen: boolean;
  heldMs: number;
  sentBytes: number;
}

export function slowRequest(options: SlowRequestOptions): Promise<SlowRequestResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(options.port, "127.0.0.1");
    let answer = "";
    let sent = 0;
    const chunk = Buffer.alloc(Math.max(1, Math.round(options.bytesPerSecond / 4)), 0xff);
    const finish = (stillOpen: boolean) => {
      clearInterval(trickle);
      clearTimeout(giveUp);
      socket.destroy();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
      resolve({
        status: status === undefined ? undefined : Number(status),
        answer,
        stillOpen,
        heldMs: performance.now() - started,
        sentBytes: sent,
      });
    };
    socket.write(options.head);
    const trickle = setInterval(() => {
      if (options.bytesPerSecond === 0 || socket.destroyed || sent + chunk.length > options.bodyBytes) return;
      socket.write(chunk);
      sent += chunk.length;
    }, 250);
    const giveUp = setTimeout(() => finish(true), options.giveUpAfterMs);
    socket.on("data", (d: Buffer) => (answer += d.toString("latin1")));
    // A reset after the answer is how some servers close; what was answered is what counts.
    socket.on("error", () => {});
    socket.on("close", () => finish(false));
  });
}

/** The head of a stylize POST declaring `contentLength` bytes of JPEG. */
export function stylizeHead(style: string, contentLength: number): string {
  return `POST /v1/styles/${style}:stylize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: ${contentLength}\r\n\r\n`;
}

/** The error code of a JSON error answer ({error: {code}}), if any. */
export function answerErrorCode(answer: string): string | undefined {
  return /"code":"([a-z_]+)"/.exec(answer)?.[1];
}
