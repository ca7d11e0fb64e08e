/**
 * Messages sent to one WebSocket within one turn of the event loop leave in
 * one write.
 *
 * graphql-ws waits for each message's send callback before it takes the next
 * event, and `ws` writes each message with its own system call as the
 * callback's condition. A socket write is the largest single cost of fanning
 * events out (measured with bench/realtime.ts: one `writev` per event and
 * subscriber, most of the server's CPU at 10,000 events/s), and a server that
 * falls behind would pay it once per event, so it could never catch up.
 *
 * With coalescing, the underlying TCP socket is corked at the first message of
 * a turn and uncorked once the turn's microtasks have run (setImmediate), and
 * a send's callback runs at once while the socket is below its high-water mark.
 * A subscriber behind by ten events gets them in one write. Backpressure is
 * kept: above the high-water mark the callback waits for `drain`, so graphql-ws
 * stops pulling, the subscription's bounded buffer fills, and a subscriber
 * that cannot keep up is still dropped (LiveEventHub, 1013). An idle server
 * sends each event as soon as before: the uncork runs in the same turn.
 */
import type net from "node:net";
import type { WebSocket } from "ws";

const corked = new Set<net.Socket>();
let flushScheduled = false;

function flushCorked(): void {
  flushScheduled = false;
  const sockets = [...corked];
  corked.clear();
  for (const socket of sockets) socket.uncork();
}

function corkForThisTurn(socket: net.Socket): void {
  if (corked.has(socket)) return;
  socket.cork();
  corked.add(socket);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushCorked);
  }
}

type SendCallback = (error?: Error) => void;

/** Makes `webSocket.send` coalesce writes per event-loop turn (see the header). */
export function coalesceWebSocketWrites(webSocket: WebSocket): void {
  const send = webSocket.send.bind(webSocket) as (data: unknown, options: object, callback?: SendCallback) => void;
  const patched = (data: unknown, optionsOrCallback?: object | SendCallback, maybeCallback?: SendCallback): void => {
    const options = typeof optionsOrCallback === "object" ? optionsOrCallback : {};
    const callback = typeof optionsOrCallback === "function" ? (optionsOrCallback as SendCallback) : maybeCallback;
    const socket = (webSocket as unknown as { _socket?: net.Socket })._socket;
    if (!socket || socket.destroyed) {
      send(data, options, callback);
      return;
    }
    corkForThisTurn(socket);
    let failed: Error | undefined;
    // A failed write also errors and closes the socket, which ends the connection's subscriptions.
    send(data, options, (error) => {
      failed = error ?? undefined;
    });
    if (!callback) return;
    if (!socket.writableNeedDrain) {
      queueMicrotask(() => callback(failed));
      return;
    }
    const resume = () => {
      socket.off("drain", resume);
      socket.off("close", resume);
      callback(failed);
    };
    socket.on("drain", resume);
    socket.on("close", resume);
  };
  webSocket.send = patched as WebSocket["send"];
}
