/**
 * track.js — a customer's own orders at /track.
 *
 * The user id comes from the token's `sub` claim (decoded for display and for the
 * channel name; the server checks the token itself). page.js loads the newest orders a
 * page at a time (older ones with "Show older orders") and follows `user:<sub>`; this
 * file draws one card per order and marks a status change when it happens.
 */
import { OrderPage } from '/page.js';
import { PROGRESS, statusLabel, statusOf, historyOf } from '/orders.js';
import { el, svg, flash, formatMoney, formatTime, formatLocation, isLocation, shortId } from '/view.js';

/** Orders whose status changed while the page was open: their cards say so. */
const statusChanged = new Set();

const page = new OrderPage({
  tokenKey: 'orderpush.token.track',
  identify(claims) {
    const sub = claims?.sub;
    if (typeof sub !== 'string' || sub === '') {
      return { error: 'This token has no readable "sub" claim, so there is no user to show orders for.' };
    }
    return { channel: `user:${sub}`, who: `Signed in as ${sub}` };
  },
  list: document.getElementById('cards'),
  render: cardFor,
  flashNew: 'card-new',
  flashUpdated: 'card-updated',
  carryOver(fresh, old) {
    // Keep the items list open if the reader opened it.
    fresh.querySelector('details').open = old.querySelector('details')?.open ?? false;
  },
  onChange(order, result, event) {
    if (event?.event === 'tracking.updated') {
      const before = historyOf(order).at(-2)?.status;
      if (before && before !== statusOf(order)) {
        statusChanged.add(String(order.id));
        const fresh = cardFor(order);
        page.node(order.id)?.replaceWith(fresh);
        flash(fresh, 'card-updated');
      }
    }
    document.getElementById('announcer').textContent = result === 'new'
      ? `New order #${shortId(order.id)}: ${statusLabel(statusOf(order))}.`
      : `Order #${shortId(order.id)} is now ${statusLabel(statusOf(order))}.`;
  },
  onPaging(hasMore, busy) {
    const button = document.getElementById('load-older');
    button.hidden = !hasMore;
    button.disabled = busy;
    button.textContent = busy ? 'Loading older orders…' : 'Show older orders';
  },
  text: {
    noToken: 'No token. Open this page as /track?token=<jwt>; mint one with: orderpush token --sub u42 --role user',
    unauthorized: 'This link is expired or invalid, so your orders cannot be shown. Ask the shop for a new link.',
    emptyUnauthorized: 'Your orders cannot be shown without a valid link.',
    loadFailed: 'Could not load your orders',
  },
});

// --- Card ---------------------------------------------------------------------------------

function cardFor(order) {
  const id = String(order.id);
  const status = statusOf(order);
  const items = Array.isArray(order.items) ? order.items : [];
  const count = items.reduce((n, item) => n + (Number(item.quantity) || 0), 0);
  const headingId = `order-${id.replace(/[^\w-]/g, '_')}`;

  const changed = statusChanged.has(id);
  return el('article', {
    class: `panel order-card${changed ? ' status-changed' : ''}`,
    dataset: { orderId: id, status, ...(changed ? { statusChanged: 'true' } : {}) },
    'aria-labelledby': headingId,
  },
    el('header', { class: 'card-head' },
      el('h2', { id: headingId, title: id }, `Order #${shortId(id)}`),
      el('span', {},
        el('span', { class: `pill status-${status}`, dataset: { status } }, statusLabel(status)),
        changed ? el('span', { class: 'status-changed-tag' }, 'Status updated') : null)),
    el('p', { class: 'card-meta muted' },
      `Placed ${formatTime(order.createdAt)} · ${count === 1 ? '1 item' : `${count} items`} · ${formatMoney(order.total)}`),
    el('div', { class: 'card-body' },
      steps(order),
      el('div', { class: 'card-side' },
        partnerSection(order.tracking?.deliveryPartner, status),
        locationSection(order, status))),
    el('details', { class: 'items-list' },
      el('summary', {}, `Items (${count})`),
      el('ul', {}, items.map((item) => el('li', {},
        el('span', {}, `${item.quantity ?? '?'} × ${item.name ?? item.productId ?? 'item'}`),
        el('span', { class: 'num' }, formatMoney((item.quantity ?? 0) * (item.price ?? 0))))))));
}

/** The progress steps with the time each was reached and its notes; `cancelled` is shown only when it happened. */
function steps(order) {
  const status = statusOf(order);
  const reached = new Map();
  for (const entry of historyOf(order)) {
    if (!entry?.status) continue;
    const step = reached.get(entry.status) ?? { at: entry.at, notes: [] };
    if (entry.note) step.notes.push(entry.note);
    reached.set(entry.status, step);
  }
  if (!reached.has('placed')) reached.set('placed', { at: order.createdAt, notes: [] });

  const cancelled = status === 'cancelled';
  const lastReached = Math.max(...PROGRESS.map((s, i) => (reached.has(s) ? i : -1)));
  const current = cancelled ? lastReached : PROGRESS.indexOf(status);

  const list = PROGRESS.map((s, i) => {
    let state;
    if (i < current || (i === current && (cancelled || s === 'delivered'))) state = 'done';
    else if (i === current) state = 'current';
    else state = cancelled ? 'skipped' : 'todo';
    return stepItem(s, state, reached.get(s), i === current && !cancelled);
  });
  if (cancelled) list.push(stepItem('cancelled', 'cancelled', reached.get('cancelled'), true));
  return el('ol', { class: 'steps', 'aria-label': 'Status timeline' }, list);
}

const STEP_STATE_TEXT = { done: 'done', current: 'current step', todo: 'not yet', skipped: 'skipped', cancelled: 'order cancelled' };

function stepItem(status, state, reached, isCurrent) {
  return el('li', { class: `step step-${state}`, dataset: { step: status }, 'aria-current': isCurrent ? 'step' : null },
    el('span', { class: 'step-dot', 'aria-hidden': 'true' }),
    el('div', { class: 'step-body' },
      el('span', { class: 'step-label' }, statusLabel(status)),
      el('span', { class: 'visually-hidden' }, ` (${STEP_STATE_TEXT[state]})`),
      reached?.at
        ? el('time', { class: 'step-time', datetime: reached.at }, formatTime(reached.at)) : null,
      (reached?.notes ?? []).map((note) => el('p', { class: 'step-note' }, note))));
}

/** Whether an order has stopped moving, so "not yet" would promise something that will not come. */
function isFinished(status) {
  return status === 'delivered' || status === 'cancelled';
}

function partnerSection(partner, status) {
  return el('section', { class: 'partner' },
    el('h3', {}, 'Delivery partner'),
    partner?.name
      ? [
        el('p', { class: 'partner-name' }, partner.name),
        partner.phone
          ? el('p', {}, el('a', { class: 'phone', href: `tel:${partner.phone.replace(/[^+\d]/g, '')}` }, `Call ${partner.phone}`))
          : null,
      ]
      : el('p', { class: 'muted' }, isFinished(status) ? 'None was assigned.' : 'Not assigned yet.'));
}

/** The map once there is a location to draw; until then one line says when there will be. */
function locationSection(order, status) {
  const trail = trailOf(order);
  let body;
  if (trail.length > 0) {
    body = [locationMap(trail), el('p', { class: 'coords mono' }, formatLocation(trail.at(-1)))];
  } else if (isFinished(status)) {
    body = el('p', { class: 'muted' }, 'No location was reported.');
  } else {
    body = el('p', { class: 'muted' }, 'Shown here once the order is on its way.');
  }
  return el('section', { class: 'where' }, el('h3', {}, 'Location'), body);
}

const MAP_W = 240;
const MAP_H = 140;
const MAP_PAD = 22;

/** Every reported location, oldest first, ending at the current one. */
function trailOf(order) {
  const last = order.tracking?.location;
  const points = historyOf(order).map((e) => e?.location).filter(isLocation);
  if (isLocation(last) && !(points.length && points.at(-1).lat === last.lat && points.at(-1).lng === last.lng)) points.push(last);
  return points;
}

/**
 * A schematic map: grid, the trail of reported locations scaled to fit, and a
 * marker at the last one. No tiles, so nothing is fetched from outside.
 * @param {{lat: number, lng: number}[]} points at least one
 */
function locationMap(points) {
  const grid = [];
  for (let x = 20; x < MAP_W; x += 20) grid.push(svg('line', { x1: x, y1: 0, x2: x, y2: MAP_H, class: 'map-grid' }));
  for (let y = 20; y < MAP_H; y += 20) grid.push(svg('line', { x1: 0, y1: y, x2: MAP_W, y2: y, class: 'map-grid' }));

  const label = `Map: last known location ${formatLocation(points.at(-1))}`;
  const children = [svg('rect', { x: 0, y: 0, width: MAP_W, height: MAP_H, rx: 8, class: 'map-bg' }), ...grid,
    svg('text', { x: MAP_W - 10, y: 16, class: 'map-north', 'text-anchor': 'middle' }, 'N')];

  const xy = points.map(projection(points));
  if (xy.length > 1) {
    children.push(svg('polyline', { points: xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' '), class: 'map-trail' }));
    for (const [x, y] of xy.slice(0, -1)) children.push(svg('circle', { cx: x, cy: y, r: 3, class: 'map-past' }));
  }
  const [x, y] = xy.at(-1);
  children.push(
    svg('circle', { cx: x, cy: y, r: 8, class: 'map-pulse' }),
    svg('circle', { cx: x, cy: y, r: 6, class: 'map-marker' }),
  );
  return svg('svg', { viewBox: `0 0 ${MAP_W} ${MAP_H}`, class: 'map', role: 'img', 'aria-label': label },
    svg('title', {}, label), ...children);
}

/** Fits the points' bounding box into the map, same scale on both axes; one point sits in the middle. */
function projection(points) {
  const lats = points.map((p) => p.lat);
  const lngs = points.map((p) => p.lng);
  const [minLat, maxLat, minLng, maxLng] = [Math.min(...lats), Math.max(...lats), Math.min(...lngs), Math.max(...lngs)];
  const spanLat = maxLat - minLat;
  const spanLng = maxLng - minLng;
  const scale = Math.min(
    spanLng > 0 ? (MAP_W - 2 * MAP_PAD) / spanLng : Infinity,
    spanLat > 0 ? (MAP_H - 2 * MAP_PAD) / spanLat : Infinity,
  );
  const k = Number.isFinite(scale) ? scale : 0;
  const midLat = (minLat + maxLat) / 2;
  const midLng = (minLng + maxLng) / 2;
  return (p) => [MAP_W / 2 + (p.lng - midLng) * k, MAP_H / 2 - (p.lat - midLat) * k];
}

document.getElementById('load-older').addEventListener('click', () => page.loadOlder());
page.start();
