/**
 * orderpush.js — the browser client for an OrderPush server.
 *
 * Dependency-free ES module. Connects to `GET /ws` with a JWT, subscribes to
 * channels, reconnects with exponential backoff and resumes each channel with
 * `since` = the last seq it delivered. When WebSockets do not get through (a proxy
 * that breaks them), it falls back to Server-Sent Events (`GET /api/events`, one
 * EventSource per channel), and when those do not either, to polling
 * `GET /api/orders?since=N`; meanwhile it tries the WebSocket again now and then.
 * `transport` and `onTransport` say which one carries the events. Every event goes
 * through one per-channel seq check, so a handler never sees an event twice,
 * whichever transport carried it. See docs/CLIENT.md.
 *
 * @example
 *   import { connect } from '/orderpush.js';
 *   const client = connect({ token, onState: s => console.log(s) });
 *   const first = await fetch('/api/orders', { headers: { Authorization: `Bearer ${token}` } })
 *     .then(r => r.json());
 *   client.subscribe('admin', ev => render(ev.order), { since: first.cursor, epoch: first.epoch });
 */

/** The states a client moves through, as reported by `state` and `onState`. */
export const STATES = Object.freeze(['connecting', 'live', 'reconnecting', 'polling', 'closed']);

/** The transports, as reported by `transport` and `onTransport`, in the order 'auto' tries them. */
export const TRANSPORTS = Object.freeze(['websocket', 'sse', 'polling']);

/** The server's Server-Sent Events names for push messages (docs/PROTOCOL.md). */
const STREAM_EVENTS = Object.freeze(['order.created', 'tracking.updated', 'subscribed']);

/** Tunables; each may be overridden in the options given to `connect`. */
const DEFAULTS = Object.freeze({
  backoffBaseMs: 500,
  backoffCapMs: 15000,
  // Used until the server tells us its own pollIntervalMs.
  pollIntervalMs: 5000,
  // While on Server-Sent Events or polling, how often to try the WebSocket again in the background.
  wsRetryMs: 30000,
  // A handshake that neither opens nor fails within this is given up on.
  connectTimeoutMs: 10000,
  // A connection that stays open this long resets the backoff; shorter ones
  // count as failures, so a server that accepts and drops at once is not hammered.
  stableAfterMs: 3000,
  // Consecutive handshake failures before asking over HTTP what is wrong
  // (auth, server down, or WebSockets blocked on the way).
  failuresBeforeProbe: 2,
});

/** The server caps one polling answer at this many events by default; a full page means "ask again now". */
const POLL_PAGE_LIMIT = 500;

/** An error reported through `onError`: `code` is the server's code or one of the client's own. */
export class OrderPushError extends Error {
  /**
   * @param {string} code e.g. 'unauthorized', 'forbidden', 'bad_request', 'cursor_expired', 'http_error'
   * @param {string} message human-readable
   * @param {{channel?: string, status?: number}} [detail]
   */
  constructor(code, message, detail = {}) {
    super(message);
    this.name = 'OrderPushError';
    this.code = code;
    this.channel = detail.channel ?? null;
    this.status = detail.status ?? null;
  }
}

/**
 * Opens a client. It starts connecting at once; subscriptions may be added at any time.
 *
 * @param {object} options
 * @param {string | (() => string)} options.token JWT, or a function returning the current one
 * @param {string} [options.url] WebSocket URL; defaults to ws(s)://<location.host>/ws
 * @param {string} [options.pollUrl] polling URL; defaults to the same host's /api/orders
 * @param {string} [options.eventsUrl] Server-Sent Events URL; defaults to the same host's /api/events
 * @param {'auto'|'websocket'|'sse'|'polling'} [options.transport] default 'auto': WebSocket, then
 *   Server-Sent Events, then polling
 * @param {(state: string, info: {failures: number, retryInMs: number|null}) => void} [options.onState]
 * @param {(transport: 'websocket'|'sse'|'polling'|null) => void} [options.onTransport] called when the
 *   transport carrying the events changes (null once closed)
 * @param {(error: OrderPushError) => void} [options.onError]
 * @param {(channel: string) => void} [options.onResync] called when a channel's cursor is no
 *   longer valid; reload state over HTTP, then call `subscribe` again with the new cursor
 * @returns {OrderPushClient}
 */
export function connect(options) {
  return new OrderPushClient(options);
}

/** One connection to an OrderPush server. Create it with `connect`. */
export class OrderPushClient {
  #opts;
  #token;
  #url;
  #pollUrl;
  #eventsUrl;
  #transport;
  #state = 'connecting';
  /** @type {'websocket'|'sse'|'polling'|null} */
  #transportInUse = null;
  /** @type {Map<string, {onEvent: Function, onResync: Function|null, lastSeq: number|null, head: number|null, forbidden: boolean, awaitingAnswer: boolean}>} */
  #channels = new Map();
  /** Epoch of the event history our cursors belong to (one per database). */
  #epoch = null;

  #ws = null;
  #everOpened = false;
  #failures = 0;
  #reconnectTimer = null;
  #connectTimer = null;
  #stableTimer = null;

  #polling = false;
  #pollTimer = null;
  #pollInFlight = null;
  #pollAbort = null;
  #pollCursor = null;
  #etag = null;
  #pollIntervalMs;
  #wsRetryTimer = null;

  /** Server-Sent Events carry the data (one EventSource per channel). */
  #sse = false;
  /** @type {Map<string, EventSource>} */
  #streams = new Map();

  #onOnline = () => this.#retryNow();

  constructor(options = {}) {
    if (!options || (typeof options.token !== 'string' && typeof options.token !== 'function')) {
      throw new TypeError('orderpush: connect() needs a token');
    }
    this.#opts = { ...DEFAULTS, ...options };
    this.#token = options.token;
    this.#transport = options.transport ?? 'auto';
    if (!['auto', 'websocket', 'sse', 'polling'].includes(this.#transport)) {
      throw new TypeError(`orderpush: unknown transport '${this.#transport}'`);
    }
    this.#url = options.url ?? defaultSocketUrl();
    this.#pollUrl = options.pollUrl ?? httpUrlFor(this.#url, '/api/orders');
    this.#eventsUrl = options.eventsUrl ?? httpUrlFor(this.#url, '/api/events');
    this.#pollIntervalMs = this.#opts.pollIntervalMs;
    if (typeof window !== 'undefined') window.addEventListener('online', this.#onOnline);

    const canSocket = typeof WebSocket !== 'undefined';
    const canStream = typeof EventSource !== 'undefined';
    if (this.#transport === 'polling' || (this.#transport === 'auto' && !canSocket && !canStream)) {
      this.#startPolling();
    } else if (this.#transport === 'sse' || (this.#transport === 'auto' && !canSocket)) {
      if (canStream) this.#startStreams();
      else this.#fail(new OrderPushError('unsupported', 'EventSource is not available in this browser'));
    } else if (!canSocket) {
      this.#fail(new OrderPushError('unsupported', 'WebSocket is not available in this browser'));
    } else {
      this.#openSocket(false);
    }
  }

  /** 'connecting' | 'live' | 'reconnecting' | 'polling' | 'closed' */
  get state() {
    return this.#state;
  }

  /**
   * The transport carrying the events: 'websocket' | 'sse' | 'polling' (the one being
   * re-established while reconnecting), or null before the first connection and once closed.
   */
  get transport() {
    return this.#transportInUse;
  }

  /**
   * Subscribes to a channel, or updates an existing subscription's handler and cursor.
   *
   * @param {string} channel 'admin' or 'user:<sub>'
   * @param {(event: {type: 'event', channel: string, seq: number, event: string, order: object}) => void} onEvent
   * @param {{since?: number, epoch?: string, onResync?: (channel: string) => void}} [opts]
   *   `since`/`epoch`: the `cursor`/`epoch` of the HTTP answer the page rendered, so events after it are replayed
   * @returns {() => void} unsubscribes
   */
  subscribe(channel, onEvent, opts = {}) {
    if (typeof channel !== 'string' || channel === '') throw new TypeError('orderpush: channel must be a non-empty string');
    if (typeof onEvent !== 'function') throw new TypeError('orderpush: onEvent must be a function');
    if (this.#state === 'closed') throw new Error('orderpush: client is closed');

    const ch = this.#channels.get(channel) ?? { lastSeq: null, head: null, forbidden: false, awaitingAnswer: false };
    ch.onEvent = onEvent;
    ch.onResync = opts.onResync ?? ch.onResync ?? null;
    ch.forbidden = false;
    if (opts.since != null) {
      if (!Number.isInteger(opts.since) || opts.since < 0) throw new TypeError('orderpush: since must be a non-negative integer');
      ch.lastSeq = opts.since;
      ch.head = null;
    }
    if (opts.epoch != null) this.#epoch = String(opts.epoch);
    this.#channels.set(channel, ch);

    if (this.#isOpen()) this.#sendSubscribe(channel, ch);
    if (this.#sse) this.#openStream(channel, ch);
    if (this.#polling) {
      // Recompute the poll cursor from the channels so the new one is covered.
      this.#pollCursor = null;
      this.#etag = null;
      this.#pollSoon();
    }
    return () => this.unsubscribe(channel);
  }

  /** Stops delivering a channel's events. */
  unsubscribe(channel) {
    if (!this.#channels.delete(channel)) return;
    if (this.#isOpen()) this.#send({ type: 'unsubscribe', channel });
    this.#closeStream(channel);
  }

  /** The seq of the last event delivered on `channel` (or the cursor it was given), or null. */
  lastSeq(channel) {
    return this.#channels.get(channel)?.lastSeq ?? null;
  }

  /** Closes the connection and stops every timer; the client cannot be reused. */
  close() {
    if (this.#state === 'closed') return;
    this.#teardown();
    this.#setState('closed');
    this.#setTransport(null);
  }

  // --- WebSocket ---------------------------------------------------------------------------

  #isOpen() {
    return this.#ws !== null && this.#ws.readyState === WebSocket.OPEN;
  }

  /** @param {boolean} background true when trying the socket while polling carries the data */
  #openSocket(background) {
    this.#reconnectTimer = null;
    let ws;
    try {
      ws = new WebSocket(this.#socketUrlWithToken());
    } catch (err) {
      // A malformed URL throws synchronously; nothing will ever connect.
      this.#fail(new OrderPushError('bad_url', `cannot open ${this.#url}: ${err.message}`));
      return;
    }
    let opened = false;
    let stable = false;
    this.#ws = ws;
    this.#connectTimer = setTimeout(() => ws.close(), this.#opts.connectTimeoutMs);

    ws.onopen = () => {
      if (this.#ws !== ws) return;
      opened = true;
      clearTimeout(this.#connectTimer);
      this.#everOpened = true;
      this.#stopPolling();
      this.#stopStreams();
      clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = null;
      this.#stableTimer = setTimeout(() => { stable = true; this.#failures = 0; }, this.#opts.stableAfterMs);
      this.#setState('live');
      this.#setTransport('websocket');
      for (const [channel, ch] of this.#channels) {
        if (!ch.forbidden) this.#sendSubscribe(channel, ch);
      }
    };
    ws.onmessage = (message) => {
      if (this.#ws === ws) this.#handleMessage(message.data);
    };
    ws.onerror = () => {}; // 'close' always follows and carries what we need.
    ws.onclose = () => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      clearTimeout(this.#connectTimer);
      clearTimeout(this.#stableTimer);
      if (this.#state === 'closed') return;
      if (background && !opened) {
        // Server-Sent Events or polling carry the data; just try the socket again later.
        this.#scheduleBackgroundSocket(this.#opts.wsRetryMs);
        return;
      }
      // A stable connection that drops starts a fresh backoff; a short-lived one counts
      // as a failure, so a server that accepts and drops at once is not hammered.
      this.#failures = opened && stable ? 0 : this.#failures + 1;
      if (!opened && this.#failures >= this.#opts.failuresBeforeProbe) this.#probeAfterFailures('websocket');
      else this.#scheduleReconnect();
    };
  }

  /**
   * Browsers hide the HTTP status of a failed handshake or event stream, so after repeated
   * failures ask the polling endpoint: 401 means the token, no answer means the server is
   * down, and an answer means `failed` is blocked on the way: try the next transport
   * (WebSocket -> Server-Sent Events -> polling).
   * @param {'websocket'|'sse'} failed
   */
  async #probeAfterFailures(failed) {
    this.#setState('reconnecting');
    const outcome = await this.#pollOnce({ deliver: this.#transport === 'auto' });
    if (this.#state === 'closed') return;
    // A socket opened meanwhile took over. (While on streams, a background socket still
    // connecting does not: the streams must go on until it opens.)
    if (failed === 'websocket' ? this.#ws !== null : this.#isOpen()) return;
    if (outcome === 'auth') return; // #pollOnce already failed the client.
    if (this.#sse && this.#streams.size > 0) {
      // Other channels' streams get through, so this one's failures are not the network's.
      this.#scheduleReconnect();
      return;
    }
    if (outcome !== 'down' && this.#transport === 'auto') {
      if (failed === 'websocket' && typeof EventSource !== 'undefined') {
        this.#startStreams();
      } else {
        this.#stopStreams();
        this.#startPolling({ alreadyPolled: true });
      }
      return;
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    clearTimeout(this.#reconnectTimer);
    const ceiling = Math.min(this.#opts.backoffCapMs, this.#opts.backoffBaseMs * 2 ** Math.max(0, this.#failures - 1));
    // Full jitter: after a server restart the clients come back spread out, not all at once.
    const delay = Math.round(Math.random() * ceiling);
    this.#setState('reconnecting', delay);
    this.#reconnectTimer = setTimeout(() => this.#reconnect(), delay);
  }

  /** Opens the transport being re-established: the streams while on Server-Sent Events, else the socket. */
  #reconnect() {
    this.#reconnectTimer = null;
    if (this.#sse) this.#openStreams();
    else this.#openSocket(false);
  }

  /** The browser says the network is back: skip the rest of the backoff. */
  #retryNow() {
    if (this.#state !== 'reconnecting' || this.#ws !== null) return;
    if (this.#polling) {
      this.#pollSoon();
      if (this.#transport === 'auto') this.#scheduleBackgroundSocket(0);
    } else if (this.#reconnectTimer !== null) {
      clearTimeout(this.#reconnectTimer);
      this.#reconnect();
    }
  }

  #sendSubscribe(channel, ch) {
    const message = { type: 'subscribe', channel };
    const since = ch.lastSeq ?? ch.head;
    if (since != null) {
      message.since = since;
      if (this.#epoch !== null) message.epoch = this.#epoch;
    }
    ch.awaitingAnswer = true;
    this.#send(message);
  }

  #send(message) {
    try {
      this.#ws.send(JSON.stringify(message));
    } catch {
      // The socket died between the check and the send; 'close' handles it.
    }
  }

  #handleMessage(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return; // The contract only sends JSON; ignore anything else.
    }
    if (message === null || typeof message !== 'object') return;
    switch (message.type) {
      case 'subscribed': {
        const ch = this.#channels.get(message.channel);
        if (!ch) return;
        ch.awaitingAnswer = false;
        if (typeof message.epoch === 'string') this.#epoch = message.epoch;
        // Without a cursor the server replays nothing; remember where the live stream
        // began so a reconnect can resume from there instead of losing the gap.
        if (ch.lastSeq === null && ch.head === null && Number.isInteger(message.head)) ch.head = message.head;
        return;
      }
      case 'event':
        this.#deliver(message);
        return;
      case 'error':
        this.#handleServerError(message);
        return;
      default:
        // Newer servers may add message types; ignore them.
    }
  }

  #handleServerError(message) {
    const channel = typeof message.channel === 'string' ? message.channel : null;
    const text = typeof message.message === 'string' ? message.message : message.code;
    if (message.code === 'cursor_expired') {
      // Without a channel in the error, it answers the subscriptions not yet confirmed.
      const channels = channel !== null
        ? [channel]
        : [...this.#channels].filter(([, ch]) => ch.awaitingAnswer).map(([name]) => name);
      for (const name of channels) this.#resync(name);
      return;
    }
    if (message.code === 'forbidden' && channel !== null) {
      const ch = this.#channels.get(channel);
      if (ch) {
        ch.forbidden = true; // Asking again after a reconnect would be refused again.
        ch.awaitingAnswer = false;
      }
    }
    this.#report(new OrderPushError(String(message.code ?? 'error'), `${text}${channel ? ` (channel ${channel})` : ''}`, { channel }));
  }

  /** The only path from the network to a handler: drops anything at or below the channel's cursor. */
  #deliver(event) {
    const ch = this.#channels.get(event.channel);
    if (!ch || !Number.isInteger(event.seq)) return;
    if (ch.lastSeq !== null && event.seq <= ch.lastSeq) return;
    ch.lastSeq = event.seq;
    try {
      ch.onEvent(event);
    } catch (err) {
      // A broken handler must not break the stream for the others.
      if (typeof reportError === 'function') reportError(err);
      else console.error(err);
    }
  }

  /** The cursor for `channel` is from another history or too old: the page must reload. */
  #resync(channel) {
    const ch = this.#channels.get(channel);
    if (!ch) return;
    ch.lastSeq = null;
    ch.head = null;
    ch.awaitingAnswer = false;
    const handler = ch.onResync ?? this.#opts.onResync;
    if (typeof handler === 'function') {
      // The handler reloads over HTTP and calls subscribe() again with the new cursor.
      try {
        handler(channel);
      } catch (err) {
        if (typeof reportError === 'function') reportError(err);
        else console.error(err);
      }
      return;
    }
    this.#report(new OrderPushError('cursor_expired', `missed events on ${channel}; reload the page's state`, { channel }));
    // Go on live-only.
    if (this.#isOpen()) this.#sendSubscribe(channel, ch);
    if (this.#sse) this.#openStream(channel, ch);
  }

  // --- Server-Sent Events ------------------------------------------------------------------

  /**
   * Server-Sent Events carry the data from now on: one EventSource per channel, each
   * resuming from the channel's cursor. Reconnection is ours, not the browser's (each
   * stream that fails is closed), so every new stream gets a fresh token and the current
   * cursor and epoch in its URL, and the backoff and fallback are the same as the socket's.
   */
  #startStreams() {
    this.#sse = true;
    this.#failures = 0;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#setTransport('sse');
    this.#openStreams();
    if (this.#transport === 'auto' && typeof WebSocket !== 'undefined') this.#scheduleBackgroundSocket(this.#opts.wsRetryMs);
  }

  #stopStreams() {
    this.#sse = false;
    for (const channel of [...this.#streams.keys()]) this.#closeStream(channel);
  }

  /** A stream for every channel that has none (after a failure, the ones that failed). */
  #openStreams() {
    for (const [channel, ch] of this.#channels) {
      if (!ch.forbidden && !this.#streams.has(channel)) this.#openStream(channel, ch);
    }
  }

  #closeStream(channel) {
    const stream = this.#streams.get(channel);
    if (!stream) return;
    this.#streams.delete(channel);
    stream.close();
  }

  #openStream(channel, ch) {
    this.#closeStream(channel);
    const url = new URL(this.#eventsUrl, typeof location !== 'undefined' ? location.href : undefined);
    url.searchParams.set('channel', channel);
    // EventSource cannot send an Authorization header.
    url.searchParams.set('access_token', this.#currentToken());
    const since = ch.lastSeq ?? ch.head;
    if (since != null) {
      url.searchParams.set('since', String(since));
      if (this.#epoch !== null) url.searchParams.set('epoch', this.#epoch);
    }
    let stream;
    try {
      stream = new EventSource(url.toString());
    } catch (err) {
      this.#fail(new OrderPushError('bad_url', `cannot open ${this.#eventsUrl}: ${err.message}`));
      return;
    }
    this.#streams.set(channel, stream);
    ch.awaitingAnswer = true;
    let opened = false;
    let openedAt = 0;
    const current = () => this.#streams.get(channel) === stream;
    const connectTimer = setTimeout(() => { if (current() && !opened) failed(); }, this.#opts.connectTimeoutMs);
    const failed = () => {
      clearTimeout(connectTimer);
      this.#closeStream(channel);
      if (this.#state === 'closed' || !this.#sse) return;
      // A stream that stayed up starts a fresh backoff; a short-lived one counts as a failure.
      const stable = opened && Date.now() - openedAt >= this.#opts.stableAfterMs;
      this.#failures = stable ? 0 : this.#failures + 1;
      if (this.#reconnectTimer !== null) return; // Another channel's stream already scheduled it.
      if (!opened && this.#failures >= this.#opts.failuresBeforeProbe) this.#probeAfterFailures('sse');
      else this.#scheduleReconnect();
    };
    stream.onopen = () => {
      if (!current()) return;
      opened = true;
      openedAt = Date.now();
      clearTimeout(connectTimer);
      this.#setTransport('sse');
      this.#setState('live');
    };
    const onMessage = (message) => {
      if (current()) this.#handleMessage(message.data);
    };
    for (const name of STREAM_EVENTS) stream.addEventListener(name, onMessage);
    stream.onmessage = onMessage;
    stream.addEventListener('error', (e) => {
      if (!current()) return;
      // The server's own `event: error` (e.g. cursor_expired) carries data; the end of the
      // stream follows it as a plain error event.
      if (typeof e.data === 'string') {
        this.#handleMessage(e.data);
        return;
      }
      failed();
    });
  }

  // --- Polling -----------------------------------------------------------------------------

  #startPolling({ alreadyPolled = false } = {}) {
    this.#polling = true;
    this.#setTransport('polling');
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    if (alreadyPolled) {
      this.#setState('polling');
      this.#schedulePoll(this.#pollIntervalMs);
    } else {
      // Let the page register its subscriptions first.
      this.#schedulePoll(0);
    }
    if (this.#transport === 'auto' && typeof WebSocket !== 'undefined') {
      // A socket that once worked is probably back soon (server restart); one that never did is likely blocked.
      this.#scheduleBackgroundSocket(this.#everOpened ? this.#opts.backoffBaseMs * 2 : this.#opts.wsRetryMs);
    }
  }

  #stopPolling() {
    this.#polling = false;
    clearTimeout(this.#pollTimer);
    clearTimeout(this.#wsRetryTimer);
    this.#pollTimer = null;
    this.#pollAbort?.abort();
  }

  #scheduleBackgroundSocket(delay) {
    clearTimeout(this.#wsRetryTimer);
    this.#wsRetryTimer = setTimeout(() => {
      if ((this.#polling || this.#sse) && this.#ws === null) this.#openSocket(true);
    }, delay);
  }

  #schedulePoll(delay) {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = setTimeout(() => this.#pollTick(), delay);
  }

  #pollSoon() {
    if (this.#pollInFlight === null) this.#schedulePoll(0);
  }

  async #pollTick() {
    if (!this.#polling) return;
    if (this.#channels.size === 0) {
      // Nothing to fetch for yet; subscribe() wakes us up.
      return;
    }
    const outcome = await this.#pollOnce({ deliver: true });
    if (!this.#polling || this.#state === 'closed') return;
    if (outcome === 'auth') return;
    if (outcome === 'down') {
      // Counted like socket failures so pages can tell a blip from a server that is gone.
      this.#failures += 1;
      this.#setState('reconnecting', this.#pollIntervalMs);
    } else {
      this.#failures = 0;
      this.#setState('polling');
    }
    this.#schedulePoll(outcome === 'more' ? 0 : this.#pollIntervalMs);
  }

  /**
   * One `GET /api/orders?since=N&epoch=E`.
   * @returns {Promise<'ok'|'more'|'down'|'auth'>}
   */
  async #pollOnce({ deliver }) {
    if (this.#pollInFlight !== null) return this.#pollInFlight;
    this.#pollInFlight = this.#pollRequest(deliver).finally(() => { this.#pollInFlight = null; });
    return this.#pollInFlight;
  }

  async #pollRequest(deliver) {
    const cursor = this.#pollCursor ?? this.#cursorFromChannels();
    const url = new URL(this.#pollUrl, typeof location !== 'undefined' ? location.href : undefined);
    if (cursor !== null) {
      url.searchParams.set('since', String(cursor));
      if (this.#epoch !== null) url.searchParams.set('epoch', this.#epoch);
    }
    const headers = { Accept: 'application/json', Authorization: `Bearer ${this.#currentToken()}` };
    if (this.#etag !== null && deliver) headers['If-None-Match'] = this.#etag;
    this.#pollAbort = new AbortController();

    let response;
    let body = null;
    try {
      // no-store: we do the conditional request ourselves and want to see the 304.
      response = await fetch(url, { headers, cache: 'no-store', signal: this.#pollAbort.signal });
      if (response.status !== 304) body = await response.json().catch(() => null);
    } catch {
      return 'down';
    }
    if (this.#state === 'closed') return 'down';
    if (response.status === 304) return 'ok';
    if (response.status === 401) {
      this.#fail(new OrderPushError('unauthorized', 'token expired or invalid', { status: 401 }));
      return 'auth';
    }
    const errorCode = body?.error?.code;
    if (errorCode === 'cursor_expired' || response.status === 410) {
      this.#resyncAll();
      return 'ok';
    }
    if (!response.ok || body === null) {
      if (response.status >= 500 || body === null) return 'down';
      this.#report(new OrderPushError(errorCode ?? 'http_error', body?.error?.message ?? `polling answered ${response.status}`, { status: response.status }));
      return 'down';
    }
    if (!deliver) return 'ok';

    if (cursor !== null && this.#epoch !== null && typeof body.epoch === 'string' && body.epoch !== this.#epoch) {
      // Another history (the database was replaced): our cursors mean nothing there.
      this.#resyncAll();
      return 'ok';
    }
    if (typeof body.epoch === 'string') this.#epoch = body.epoch;
    if (Number.isInteger(body.pollIntervalMs) && body.pollIntervalMs > 0) this.#pollIntervalMs = body.pollIntervalMs;
    const events = Array.isArray(body.events) ? body.events : [];
    if (cursor !== null) {
      for (const event of events) {
        this.#deliver(event);
        // An admin or service caller polls the `admin` channel, which holds every event; its
        // `user:<id>` subscriptions get their share of it (same seq, so dedupe still holds).
        const owner = event.channel === 'admin' ? event.order?.userId : undefined;
        if (typeof owner === 'string' && this.#channels.has(`user:${owner}`)) {
          this.#deliver({ ...event, channel: `user:${owner}` });
        }
      }
    }
    if (Number.isInteger(body.cursor)) this.#pollCursor = body.cursor;
    this.#etag = response.headers.get('ETag');
    return events.length >= POLL_PAGE_LIMIT ? 'more' : 'ok';
  }

  /** Polling has one cursor per caller; start it at the oldest channel cursor so no channel misses anything. */
  #cursorFromChannels() {
    let min = null;
    for (const ch of this.#channels.values()) {
      const c = ch.lastSeq ?? ch.head;
      if (c !== null && (min === null || c < min)) min = c;
    }
    return min;
  }

  #resyncAll() {
    this.#epoch = null;
    this.#pollCursor = null;
    this.#etag = null;
    for (const channel of [...this.#channels.keys()]) this.#resync(channel);
  }

  // --- Common ------------------------------------------------------------------------------

  #currentToken() {
    return typeof this.#token === 'function' ? this.#token() : this.#token;
  }

  #socketUrlWithToken() {
    const url = new URL(this.#url, typeof location !== 'undefined' ? location.href : undefined);
    url.searchParams.set('access_token', this.#currentToken());
    return url.toString();
  }

  #setState(state, retryInMs = null) {
    if (this.#state === 'closed') return;
    const changed = state !== this.#state;
    this.#state = state;
    // 'reconnecting' is re-reported with each new delay so pages can show a countdown.
    if ((changed || state === 'reconnecting') && typeof this.#opts.onState === 'function') {
      try {
        this.#opts.onState(state, { failures: this.#failures, retryInMs });
      } catch (err) {
        console.error(err);
      }
    }
  }

  #setTransport(transport) {
    if (transport === this.#transportInUse) return;
    this.#transportInUse = transport;
    if (typeof this.#opts.onTransport === 'function') {
      try {
        this.#opts.onTransport(transport);
      } catch (err) {
        console.error(err);
      }
    }
  }

  #report(error) {
    if (typeof this.#opts.onError === 'function') {
      try {
        this.#opts.onError(error);
      } catch (err) {
        console.error(err);
      }
    } else {
      console.warn(`orderpush: ${error.code}: ${error.message}`);
    }
  }

  /** Unrecoverable (bad token, bad URL): report, then stop for good. */
  #fail(error) {
    this.#report(error);
    this.close();
  }

  #teardown() {
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#stableTimer);
    this.#stopPolling();
    this.#stopStreams();
    if (typeof window !== 'undefined') window.removeEventListener('online', this.#onOnline);
    const ws = this.#ws;
    this.#ws = null;
    if (ws !== null) {
      try {
        ws.close(1000, 'client closed');
      } catch {
        // Already closing.
      }
    }
  }
}

function defaultSocketUrl() {
  if (typeof location === 'undefined') throw new TypeError('orderpush: give a url outside a browser page');
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

/** An HTTP endpoint (polling, Server-Sent Events) on the same host as the socket. */
function httpUrlFor(socketUrl, path) {
  const url = new URL(socketUrl, typeof location !== 'undefined' ? location.href : undefined);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = path;
  url.search = '';
  url.hash = '';
  return url.toString();
}
