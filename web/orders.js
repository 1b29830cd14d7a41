/**
 * orders.js — the order model the pages share: statuses, and a store that keeps
 * the newest version of each order by the seq it came with.
 */

/** Every status in the contract, in the order an order normally moves through them. */
export const STATUSES = Object.freeze([
  'placed', 'confirmed', 'packed', 'shipped', 'out_for_delivery', 'delivered', 'cancelled',
]);

/** The happy path; `cancelled` can end it at any step. */
export const PROGRESS = Object.freeze(STATUSES.filter((s) => s !== 'cancelled'));

const LABELS = {
  placed: 'Placed',
  confirmed: 'Confirmed',
  packed: 'Packed',
  shipped: 'Shipped',
  out_for_delivery: 'Out for delivery',
  delivered: 'Delivered',
  cancelled: 'Cancelled',
};

/** Human label of a status ('out_for_delivery' → 'Out for delivery'). */
export function statusLabel(status) {
  return LABELS[status] ?? String(status ?? 'unknown');
}

/** The current status: the tracking block's, else the order's. */
export function statusOf(order) {
  return order?.tracking?.status ?? order?.status ?? 'placed';
}

/** `tracking.history` as an array, oldest first. */
export function historyOf(order) {
  const history = order?.tracking?.history;
  return Array.isArray(history) ? history : [];
}

function timeOf(order) {
  const t = Date.parse(order?.createdAt ?? '');
  return Number.isNaN(t) ? 0 : t;
}

/**
 * Holds one version of each order. A version is applied only if its seq is newer than
 * the one held, so an HTTP answer, a PUT response and the matching push event can
 * arrive in any order and the page still ends on the newest.
 */
export class OrderStore {
  #orders = new Map();

  /** Replaces everything with an HTTP snapshot taken at `cursor`. */
  reset(orders, cursor) {
    this.#orders.clear();
    for (const order of orders ?? []) {
      if (order && order.id != null) this.#orders.set(String(order.id), { order, seq: cursor ?? 0 });
    }
  }

  /**
   * @returns {'new'|'updated'|'stale'}
   */
  apply(order, seq) {
    if (!order || order.id == null) return 'stale';
    const id = String(order.id);
    const held = this.#orders.get(id);
    if (held && Number.isInteger(seq) && seq <= held.seq) return 'stale';
    this.#orders.set(id, { order, seq: Number.isInteger(seq) ? seq : (held?.seq ?? 0) });
    return held ? 'updated' : 'new';
  }

  get(id) {
    return this.#orders.get(String(id))?.order ?? null;
  }

  /** Forgets an order (it left the list). */
  delete(id) {
    this.#orders.delete(String(id));
  }

  get size() {
    return this.#orders.size;
  }

  /** Newest first by createdAt. */
  newestFirst() {
    return [...this.#orders.values()].map((v) => v.order).sort((a, b) => timeOf(b) - timeOf(a));
  }
}

/** Lowercase, without diacritics (as SQLite's unicode61 tokenizer folds them). */
function folded(text) {
  return String(text ?? '').toLowerCase().normalize('NFD').replace(/\p{M}/gu, '');
}

/** Runs of letters and digits. */
function wordsOf(text) {
  return folded(text).match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * Whether an order matches search text `q` the way GET /api/orders/search does: its owner
 * is exactly `q`; or its id starts with `q` (`ord_` optional); or every word of `q`
 * (compared on its first 8 characters) starts a word of one of its item names.
 */
export function matchesSearch(order, q) {
  const text = String(q ?? '').trim();
  const lowered = text.toLowerCase();
  if (lowered === '' || lowered === 'ord_') return true;
  if (order?.userId === text) return true;
  const hex = lowered.startsWith('ord_') ? lowered.slice(4) : lowered;
  if (/^[0-9a-f]{1,16}$/.test(hex) && String(order?.id ?? '').toLowerCase().startsWith(`ord_${hex}`)) return true;
  const wanted = wordsOf(text).map((w) => w.slice(0, 8));
  if (wanted.length === 0) return false;
  const names = wordsOf((Array.isArray(order?.items) ? order.items : []).map((item) => String(item?.name ?? '')).join(' '));
  return wanted.every((w) => names.some((word) => word.startsWith(w)));
}
