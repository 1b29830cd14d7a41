// Type declarations for orderpush.js (the browser client of an OrderPush server).
// The behaviour behind every member is described in docs/CLIENT.md.

/** The states a client moves through, as reported by `state` and `onState`. */
export type State = 'connecting' | 'live' | 'reconnecting' | 'polling' | 'closed';

/** The states, in the order above. */
export declare const STATES: readonly State[];

/** Which transport `connect` may use. `'auto'` tries WebSocket, then Server-Sent Events, then polling. */
export type TransportOption = 'auto' | 'websocket' | 'sse' | 'polling';

/** The transport carrying events right now; `null` before the first one works and after `close()`. */
export type Transport = 'websocket' | 'sse' | 'polling' | null;

/** A channel name: `'admin'` (admin and service tokens) or `'user:<sub>'`. */
export type Channel = 'admin' | `user:${string}` | (string & {});

/** One status of an order's life (docs/PROTOCOL.md §2). */
export type OrderStatus = 'placed' | 'confirmed' | 'packed' | 'shipped' | 'out_for_delivery' | 'delivered' | 'cancelled' | (string & {});

/** A point on the map. */
export interface Location {
  lat: number;
  lng: number;
}

/** One `tracking.history` entry. */
export interface TrackingEntry {
  status: OrderStatus;
  note: string | null;
  location: Location | null;
  /** ISO 8601, UTC. */
  at: string;
}

/** An order as the server sends it (docs/PROTOCOL.md §2 and §4). */
export interface Order {
  id: string;
  userId: string;
  items: Array<{ productId: string; name: string; quantity: number; price: number }>;
  total: number;
  paymentMethod: 'cod' | 'razorpay' | (string & {});
  status: OrderStatus;
  shippingAddress: Record<string, unknown> | null;
  tracking: {
    status: OrderStatus;
    location: Location | null;
    deliveryPartner: { name: string; phone?: string | null } | null;
    history: TrackingEntry[];
  };
  metadata: unknown;
  /** ISO 8601, UTC. */
  createdAt: string;
  updatedAt: string;
}

/** One event, exactly as the server sent it, from whichever transport carried it. */
export interface OrderEvent {
  type: 'event';
  channel: string;
  /** Position in the event log: strictly increasing per channel; never delivered twice. */
  seq: number;
  /** What happened: `'order.created'` or `'tracking.updated'`. */
  event: 'order.created' | 'tracking.updated' | (string & {});
  order: Order;
  [field: string]: unknown;
}

/** What `onState` is told with each state. */
export interface StateInfo {
  /** Failed attempts in a row. */
  failures: number;
  /** With `'reconnecting'`: the wait before the next attempt, in ms; otherwise `null`. */
  retryInMs: number | null;
}

export interface ConnectOptions {
  /** The JWT, or a function returning the current one (called at each connect and poll). */
  token: string | (() => string);
  /** WebSocket endpoint; default `ws(s)://<location.host>/ws`. Required outside a browser page. */
  url?: string;
  /** Polling endpoint; default the same host's `/api/orders`. */
  pollUrl?: string;
  /** Server-Sent Events endpoint; default the same host's `/api/events`. */
  eventsUrl?: string;
  /** Default `'auto'`. A single transport never falls back to another. */
  transport?: TransportOption;
  /** Every state change; `'reconnecting'` again with each new wait. */
  onState?: (state: State, info: StateInfo) => void;
  /** Every change of the transport carrying events (also to `null`). */
  onTransport?: (transport: Transport) => void;
  /** Errors; without this they go to `console.warn`. */
  onError?: (error: OrderPushError) => void;
  /** Default resync handler for channels without their own: reload over HTTP, then `subscribe` again. */
  onResync?: (channel: string) => void;

  /** First reconnect wait ceiling, ms (500). */
  backoffBaseMs?: number;
  /** Largest reconnect wait, ms (15000). */
  backoffCapMs?: number;
  /** Polling period until the server states its own, ms (5000). */
  pollIntervalMs?: number;
  /** While falling back, how often to try the WebSocket again, ms (30000). */
  wsRetryMs?: number;
  /** A handshake that neither opens nor fails within this is given up, ms (10000). */
  connectTimeoutMs?: number;
  /** A connection open this long resets the backoff, ms (3000). */
  stableAfterMs?: number;
  /** Failed handshakes in a row before asking over HTTP what is wrong (2). */
  failuresBeforeProbe?: number;
}

export interface SubscribeOptions {
  /** The `cursor` of the HTTP answer the page rendered: events after it are replayed. */
  since?: number;
  /** The `epoch` of that answer (the event history the cursor belongs to). */
  epoch?: string;
  /** Called when the cursor can no longer be resumed: reload, then `subscribe` again. */
  onResync?: (channel: string) => void;
}

/** Error codes the client reports; the server may add others. */
export type ErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'bad_request'
  | 'cursor_expired'
  | 'http_error'
  | 'unsupported'
  | 'bad_url'
  | (string & {});

/** An error reported through `onError`. */
export declare class OrderPushError extends Error {
  constructor(code: ErrorCode, message: string, detail?: { channel?: string; status?: number });
  readonly name: 'OrderPushError';
  /** The server's error code, or one of the client's own (`unsupported`, `bad_url`, `http_error`). */
  code: ErrorCode;
  /** The channel the error is about, if any. */
  channel: string | null;
  /** The HTTP status, for errors from an HTTP answer. */
  status: number | null;
}

/** One connection to an OrderPush server. Create it with `connect`. */
export declare class OrderPushClient {
  constructor(options: ConnectOptions);
  /** The current state. */
  readonly state: State;
  /** The transport carrying events now, or `null` (none yet, or closed). */
  readonly transport: Transport;
  /**
   * Subscribes to a channel, or replaces the handler and cursor of an existing subscription.
   * @returns a function that unsubscribes
   */
  subscribe(channel: Channel, onEvent: (event: OrderEvent) => void, options?: SubscribeOptions): () => void;
  /** Stops delivering a channel's events and tells the server. */
  unsubscribe(channel: Channel): void;
  /** The seq of the last event delivered on `channel` (or the `since` it was given), or `null`. */
  lastSeq(channel: Channel): number | null;
  /** Closes the connection and stops every timer; the client cannot be reused. */
  close(): void;
}

/** Opens a client; it starts connecting at once. */
export declare function connect(options: ConnectOptions): OrderPushClient;
