/**
 * page.js — what /admin and /track do alike around their own rendering: take the
 * token, load the orders over HTTP, follow one channel from the answer's cursor
 * (loading again when the client asks for a resync), keep a list of order nodes
 * newest first, and show the loading, empty, connection and error states.
 *
 * The page's HTML provides #banners, #connection, #transport, #who, #loading and #empty.
 */
import { connect } from '/orderpush.js';
import { takeToken, dropToken, readClaims, transportFromUrl, createApi } from '/session.js';
import { OrderStore } from '/orders.js';
import { flash, Banners, showConnection, connectionReporter } from '/view.js';

const RELOAD_RETRY_MS = 5000;

const byId = (id) => document.getElementById(id);

/** Orders per page of GET /api/orders/search. */
export const PAGE_SIZE = 50;

/**
 * One page showing the orders its token may see, a page at a time
 * (GET /api/orders/search), kept current by the events of one channel.
 *
 * Options:
 * - `tokenKey`: sessionStorage key of the page's token.
 * - `identify(claims)`: from the token's decoded claims (null if unreadable), either
 *   `{channel, who, warning?}` (`who` is shown in the top bar, `warning` as a banner) or
 *   `{error}` when the page cannot work with this token.
 * - `list`: the element holding one node per order; `render(order)` makes that node,
 *   which carries `data-order-id`.
 * - `flashNew`, `flashUpdated`: CSS classes played on a node that arrives or changes.
 * - `carryOver(fresh, old)`: optional; copies view state (an open <details>) to a
 *   re-rendered node.
 * - `filter()`: optional; the search parameters of what the list shows ({status, q}).
 * - `matches(order)`: optional; whether an order belongs in the list under the current
 *   filter (the same rule as the server's), so events keep the list right.
 * - `onReload(snapshot)`, `onChange(order, result, event)`: optional; after the list was
 *   drawn again (`snapshot.counts` is there on a full load), and after one order changed
 *   on screen (`result`: 'new', 'updated' or 'left'). `onEvent(event)`: every event.
 * - `onPaging(hasMore, busy)`: optional; whether older orders can be loaded.
 * - `text`: `{noToken, unauthorized, emptyUnauthorized, loadFailed}`, what to tell the person.
 */
export class OrderPage {
  /** The orders on screen, each at the newest seq seen. */
  store = new OrderStore();
  /** The HTTP calls, once start() found a token; see session.js createApi. */
  api = null;

  #options;
  #banners = new Banners(byId('banners'));
  #badge = byId('connection');
  #client = null;
  #channel = null;
  #stopped = false;
  /** The cursor of the next (older) page; null when the list reaches the oldest order. */
  #next = null;
  /** The seq the snapshot on screen is at least as new as. */
  #seenSeq = 0;
  /** Events that arrived while a page was being fetched, applied again on top of it. */
  #duringFetch = null;
  /** Bumped per list fetch, so an answer to a superseded filter is dropped. */
  #generation = 0;
  #loadingOlder = false;

  constructor(options) {
    this.#options = options;
  }

  /** The banner area, for the page's own messages. */
  get banners() {
    return this.#banners;
  }

  /** True while older orders can be loaded. */
  get hasMore() {
    return this.#next !== null;
  }

  /** Takes the token, connects and loads; when it cannot, says why on the page. */
  start() {
    const token = takeToken(this.#options.tokenKey);
    if (!token) {
      this.#refuse(this.#options.text.noToken);
      return;
    }
    const identity = this.#options.identify(readClaims(token));
    if (identity.error) {
      this.#refuse(identity.error);
      return;
    }
    this.#channel = identity.channel;
    byId('who').textContent = identity.who ?? '';
    if (identity.warning) this.#banners.show('role', 'warning', identity.warning);

    this.api = createApi(token);
    this.#client = connect({
      token,
      transport: transportFromUrl(),
      ...connectionReporter({ badge: this.#badge, transportNote: byId('transport'), banners: this.#banners,
                              onUnauthorized: () => this.unauthorized() }),
    });
    this.#load();
  }

  /**
   * Shows a version of an order, from a push event or an API answer, unless a newer one
   * is already shown; removes it when it no longer matches the filter. `created` marks a
   * brand-new order for the highlight.
   */
  apply(order, seq, created = false, event = null) {
    if (!order || order.id == null) return;
    this.#duringFetch?.push([order, seq, created, event]);
    const old = this.node(order.id);
    if (this.#options.matches && !this.#options.matches(order)) {
      if (old) {
        old.remove();
        this.store.delete(order.id);
        this.#showListState();
        this.#options.onChange?.(order, 'left', event);
      }
      return;
    }
    const result = this.store.apply(order, seq);
    if (result === 'stale') return;
    const fresh = this.#options.render(order);
    if (old) {
      this.#options.carryOver?.(fresh, old);
      old.replaceWith(fresh);
      flash(fresh, this.#options.flashUpdated);
    } else {
      const before = this.#placeOf(order);
      if (before === undefined) {
        // Older than every order shown while older pages are still unloaded: it will
        // come with its page.
        this.store.delete(order.id);
        return;
      }
      this.#options.list.insertBefore(fresh, before);
      flash(fresh, created ? this.#options.flashNew : this.#options.flashUpdated);
    }
    this.#showListState();
    this.#options.onChange?.(order, result, event);
  }

  /** The node showing the order with this id, if any. */
  node(id) {
    const wanted = String(id);
    return [...this.#options.list.children].find((n) => n.dataset.orderId === wanted) ?? null;
  }

  /** The server refused the token: stop, forget it, and say so. */
  unauthorized() {
    this.#stopped = true;
    dropToken(this.#options.tokenKey);
    this.#client?.close();
    showConnection(this.#badge, 'offline');
    this.#showListState();
    byId('empty').textContent = this.#options.text.emptyUnauthorized;
    this.#banners.show('auth', 'error', this.#options.text.unauthorized);
  }

  /** Shows the first page for the current filter (the subscription goes on). */
  async refilter() {
    if (this.#stopped || this.api === null) return;
    const generation = ++this.#generation;
    const seen = this.#client.lastSeq(this.#channel) ?? this.#seenSeq;
    const snapshot = await this.#fetch(null);
    if (snapshot === null || generation !== this.#generation) return;
    this.#show(snapshot, seen, false);
  }

  /** Adds the next page of older orders at the bottom. */
  async loadOlder() {
    if (this.#stopped || this.#next === null || this.#loadingOlder) return;
    this.#loadingOlder = true;
    this.#options.onPaging?.(true, true);
    const generation = this.#generation;
    const seen = this.#client.lastSeq(this.#channel) ?? this.#seenSeq;
    const snapshot = await this.#fetch(this.#next);
    this.#loadingOlder = false;
    if (snapshot !== null && generation === this.#generation) {
      for (const order of snapshot.orders ?? []) {
        if (this.node(order.id)) continue;
        this.store.apply(order, seen);
        this.#options.list.append(this.#options.render(order));
      }
      this.#next = snapshot.next ?? null;
      this.#replayFetchEvents(snapshot);
      this.#showListState();
    }
    this.#options.onPaging?.(this.#next !== null, false);
  }

  /** One search page; events meanwhile are kept to apply on top of it. */
  async #fetch(before, counts = false) {
    const params = { ...(this.#options.filter?.() ?? {}), limit: PAGE_SIZE };
    if (before !== null) params.before = before;
    if (counts) params.counts = 1;
    this.#duringFetch = [];
    try {
      const snapshot = await this.api.search(params);
      snapshot.pendingEvents = this.#duringFetch;
      return snapshot;
    } catch (err) {
      if (err.status === 401) this.unauthorized();
      else this.#banners.show('load', 'error', `${this.#options.text.loadFailed}: ${err.message}`);
      return null;
    } finally {
      this.#duringFetch = null;
    }
  }

  #replayFetchEvents(snapshot) {
    for (const [order, seq, created, event] of snapshot.pendingEvents ?? []) this.apply(order, seq, created, event);
  }

  /** Draws a first page; `seen`: the seq its contents are at least as new as. */
  #show(snapshot, seen, full) {
    this.#seenSeq = seen;
    this.store.reset(snapshot.orders, seen);
    this.#next = snapshot.next ?? null;
    this.#options.list.replaceChildren(...(snapshot.orders ?? []).map((order) => this.#options.render(order)));
    this.#banners.clear('load');
    this.#showListState();
    this.#options.onReload?.(full ? snapshot : null);
    this.#options.onPaging?.(this.#next !== null, false);
    this.#replayFetchEvents(snapshot);
  }

  /**
   * (Re)loads the first page with the counts and the event cursor they are exact at,
   * then (re)subscribes from that cursor so nothing in between is lost.
   */
  async #load() {
    if (this.#stopped) return;
    const generation = ++this.#generation;
    const params = { ...(this.#options.filter?.() ?? {}), limit: PAGE_SIZE, counts: 1 };
    try {
      const snapshot = await this.api.search(params);
      if (this.#stopped) return;
      if (generation === this.#generation) this.#show(snapshot, snapshot.cursor, true);
      else this.#options.onReload?.({ counts: snapshot.counts, cursor: snapshot.cursor, countsOnly: true });
      this.#client.subscribe(this.#channel, (event) => {
        this.#options.onEvent?.(event);
        this.apply(event.order, event.seq, event.event === 'order.created', event);
      }, {
        since: snapshot.cursor, epoch: snapshot.epoch, onResync: () => this.#load(),
      });
    } catch (err) {
      if (err.status === 401) {
        this.unauthorized();
        return;
      }
      this.#banners.show('load', 'error',
        `${this.#options.text.loadFailed}: ${err.message} Trying again in ${RELOAD_RETRY_MS / 1000}\u00a0s.`);
      setTimeout(() => this.#load(), RELOAD_RETRY_MS);
    }
  }

  /**
   * The node a newly matching order goes before (newest first by creation), null for the
   * end of the list, undefined when it is older than everything shown and older pages
   * are not loaded yet.
   */
  #placeOf(order) {
    const created = Date.parse(order.createdAt ?? '') || 0;
    for (const node of this.#options.list.children) {
      const shown = Date.parse(this.store.get(node.dataset.orderId)?.createdAt ?? '') || 0;
      if (shown <= created) return node;
    }
    return this.#next === null ? null : undefined;
  }

  /** No client will run: offline, nothing loading, and the reason in a banner. */
  #refuse(message) {
    showConnection(this.#badge, 'offline');
    byId('loading').hidden = true;
    this.#banners.show('auth', 'error', message);
  }

  #showListState() {
    byId('loading').hidden = true;
    byId('empty').hidden = this.store.size > 0;
  }
}
