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

/**
 * One page showing the orders its token may see.
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
 * - `onReload()`, `onChange(order, result)`: optional; after the whole list was drawn
 *   again, and after one order changed on screen (`result` is 'new' or 'updated').
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

  constructor(options) {
    this.#options = options;
  }

  /** The banner area, for the page's own messages. */
  get banners() {
    return this.#banners;
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
   * is already shown. `created` marks a brand-new order for the highlight.
   */
  apply(order, seq, created = false) {
    const result = this.store.apply(order, seq);
    if (result === 'stale') return;
    const fresh = this.#options.render(order);
    const old = this.node(order.id);
    if (old) {
      this.#options.carryOver?.(fresh, old);
      old.replaceWith(fresh);
      flash(fresh, this.#options.flashUpdated);
    } else {
      this.#options.list.prepend(fresh);
      flash(fresh, created ? this.#options.flashNew : this.#options.flashUpdated);
    }
    this.#showListState();
    this.#options.onChange?.(order, result);
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

  /** (Re)loads every order, then (re)subscribes from the answer's cursor so nothing in between is lost. */
  async #load() {
    if (this.#stopped) return;
    try {
      const snapshot = await this.api.listOrders();
      if (this.#stopped) return;
      this.store.reset(snapshot.orders, snapshot.cursor);
      this.#options.list.replaceChildren(...this.store.newestFirst().map((order) => this.#options.render(order)));
      this.#showListState();
      this.#options.onReload?.();
      this.#banners.clear('load');
      this.#client.subscribe(this.#channel, (event) => this.apply(event.order, event.seq, event.event === 'order.created'), {
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
