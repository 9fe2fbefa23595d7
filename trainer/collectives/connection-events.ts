// Disconnects and reconnects of a NATS connection, as two callbacks. nats.js
// reconnects by itself and subscribes again before it reports "reconnect",
// so by then this client receives everything published from that moment on;
// what was published in between is gone (see replay-log.ts).
import { Events, type NatsConnection, type Status } from "nats";

export interface ConnectionEventHandlers {
  onDisconnect(server: string): void;
  onReconnect(server: string): void;
  /** A handler threw. */
  onError(err: unknown): void;
}

export interface ConnectionWatch {
  /** Stops reporting (and, on a connection someone else owns, stops listening). */
  stop(): void;
}

export function watchConnection(nc: NatsConnection, handlers: ConnectionEventHandlers): ConnectionWatch {
  const events = nc.status();
  let stopped = false;
  void (async () => {
    for await (const s of events) {
      if (stopped) break;
      dispatch(s, handlers);
    }
  })().catch((e: unknown) => handlers.onError(e));
  return {
    stop: () => {
      stopped = true;
      // nats.js hands out a QueuedIterator; stop() detaches it from the
      // connection, which matters when the connection outlives us.
      const it = events as AsyncIterable<Status> & { stop?: () => void };
      it.stop?.();
    },
  };
}

function dispatch(s: Status, handlers: ConnectionEventHandlers): void {
  const server = typeof s.data === "string" ? s.data : "";
  if (s.type === Events.Disconnect) handlers.onDisconnect(server);
  else if (s.type === Events.Reconnect) handlers.onReconnect(server);
}
