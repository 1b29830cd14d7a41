/**
 * view.js — small DOM helpers both pages use. Everything from the server is put in
 * the page as text (never as HTML), so order data cannot inject markup.
 */

/**
 * Creates an element. `attrs` keys starting with 'on' become listeners; `class`,
 * `dataset` and `text` are handled specially; children may be strings or nodes.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** 240 → "240.00" (in the reader's locale). */
export function formatMoney(value) {
  return typeof value === 'number' && Number.isFinite(value) ? money.format(value) : '—';
}

/** An ISO time as local time; the date is added when it is not today. */
export function formatTime(iso) {
  const date = new Date(iso ?? '');
  if (Number.isNaN(date.getTime())) return '—';
  const sameDay = date.toDateString() === new Date().toDateString();
  const time = date.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit', second: '2-digit' });
  return sameDay ? time : `${date.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${time}`;
}

/**
 * A long id shortened for display, like a short commit hash: the type prefix
 * ("ord_") is the same on every order, so the 8 characters after it are what tell
 * orders apart. The full id goes in a title attribute and the detail view.
 */
export function shortId(id) {
  const text = String(id ?? '');
  const unique = text.replace(/^[A-Za-z]+_(?=.)/, '');
  return unique.length > 10 ? unique.slice(0, 8) : unique;
}

/** "12.97160, 77.59460" */
export function formatLocation(location) {
  if (!isLocation(location)) return '—';
  return `${location.lat.toFixed(5)}, ${location.lng.toFixed(5)}`;
}

export function isLocation(location) {
  return location != null && Number.isFinite(location.lat) && Number.isFinite(location.lng);
}

/** Replays a one-shot CSS animation class on a node. */
export function flash(node, className) {
  node.classList.remove(className);
  void node.offsetWidth; // Force a reflow so the animation starts again.
  node.classList.add(className);
  node.addEventListener('animationend', () => node.classList.remove(className), { once: true });
}

/**
 * Banners at the top of the page, one per key ('auth', 'connection', ...), so a
 * later message of the same kind replaces the earlier one.
 */
export class Banners {
  #root;
  /** key → {node, kind, message} */
  #shown = new Map();

  constructor(root) {
    this.#root = root;
  }

  /**
   * Shows a banner, replacing the one of the same key. The same message again is left
   * as it is, so screen readers do not announce it once more.
   * @param {'error'|'warning'|'info'} kind
   */
  show(key, kind, message, action = null) {
    const shown = this.#shown.get(key);
    if (shown && !action && shown.kind === kind && shown.message === message) return;
    this.clear(key);
    const node = el('div', { class: `banner banner-${kind}`, role: kind === 'error' ? 'alert' : 'status', dataset: { banner: key } },
      el('span', { class: 'banner-text', text: message }),
      action);
    this.#shown.set(key, { node, kind, message });
    this.#root.append(node);
  }

  clear(key) {
    this.#shown.get(key)?.node.remove();
    this.#shown.delete(key);
  }
}

const BADGE_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  polling: 'Polling',
  offline: 'Offline',
};

/**
 * Shows the connection state in the badge and mirrors it on <body data-connection>
 * so tests and styles can read it.
 * @param {HTMLElement} badge
 * @param {string} state a client state, or 'offline'
 */
export function showConnection(badge, state) {
  const shown = state === 'closed' ? 'offline' : state;
  badge.dataset.state = shown;
  badge.textContent = BADGE_TEXT[shown] ?? shown;
  badge.title = {
    live: 'Connected: changes appear instantly.',
    polling: 'No push connection gets through: checking for changes every few seconds.',
    reconnecting: 'Connection lost: trying again.',
    offline: 'Not connected.',
    connecting: 'Connecting to the server.',
  }[shown] ?? '';
  document.body.dataset.connection = shown;
}

const TRANSPORT_TEXT = {
  websocket: 'via WebSocket',
  sse: 'via Server-Sent Events',
  polling: 'via polling',
};

/**
 * Shows which transport carries the changes in a small note next to the badge, and mirrors
 * it on <body data-transport> so tests and styles can read it.
 * @param {HTMLElement|null} note
 * @param {'websocket'|'sse'|'polling'|null} transport
 */
export function showTransport(note, transport) {
  document.body.dataset.transport = transport ?? '';
  if (note) note.textContent = transport ? TRANSPORT_TEXT[transport] ?? transport : '';
}

/**
 * Wires a client's states, transport and errors to the badge, the transport note and the
 * banners, the same way on every page.
 * @returns {{onState: Function, onTransport: Function, onError: Function}}
 */
export function connectionReporter({ badge, transportNote = null, banners, onUnauthorized }) {
  return {
    onTransport(transport) {
      showTransport(transportNote, transport);
    },
    onState(state, info) {
      // One failed attempt is routine (a restart); after that, say so.
      const serverGone = state === 'reconnecting' && info.failures >= 2;
      showConnection(badge, serverGone ? 'offline' : state);
      if (serverGone) {
        // No countdown: the banner would go stale between attempts, or re-announce itself every second.
        banners.show('connection', 'warning',
          'Cannot reach the server. Trying again every few seconds; anything that changes meanwhile will show up once it is back.');
      } else if (state === 'live' || state === 'polling') {
        banners.clear('connection');
      }
    },
    onError(error) {
      if (error.code === 'unauthorized') onUnauthorized();
      else banners.show(`client-${error.code}`, 'error', error.message);
    },
  };
}
