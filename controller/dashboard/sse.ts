// Server-sent events to every open page. SSE rather than WebSocket: one-way
// is all the page needs, it is plain HTTP (proxies, `curl -N`), and the
// browser reconnects by itself — the first message after a (re)connect is a
// full snapshot, so a page never has to guess what it missed.
import type { IncomingMessage, ServerResponse } from "node:http";

/** A comment line this often keeps idle proxies and load balancers from cutting the stream. */
const HEARTBEAT_MS = 15_000;

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor() {
    this.heartbeat = setInterval(() => {
      for (const res of this.clients) res.write(": keep-alive\n\n");
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Take over the response as an event stream; `first` is sent before anything else. */
  open(req: IncomingMessage, res: ServerResponse, first: { event: string; data: unknown }): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      // nginx ingress would otherwise buffer the stream.
      "x-accel-buffering": "no",
    });
    // The browser waits this long before reconnecting after a drop.
    res.write("retry: 2000\n\n");
    res.write(format(first.event, first.data));
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    req.on("close", drop);
    res.on("error", drop);
  }

  send(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const msg = format(event, data);
    for (const res of this.clients) res.write(msg);
  }

  /** End every stream, so the HTTP server can close. */
  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

function format(event: string, data: unknown): string {
  // JSON has no raw newlines, so one data line per message.
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
