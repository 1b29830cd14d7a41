/**
 * admin.js — the live order table at /admin.
 *
 * page.js loads a page of orders (GET /api/orders/search, with the per-status counts) and
 * follows the `admin` channel; this file draws the status tabs, the search box, the table
 * and the detail pane, keeps the counts right from the events, and tells the admin of new
 * orders while the tab is in the background (title count, desktop notification if allowed,
 * optional sound, rows marked until seen). Tracking changes go out as
 * PUT /api/orders/{id}/tracking; the answer and the push event that follows are both
 * applied through page.apply, whose OrderStore keeps whichever is newer.
 */
import { OrderPage } from '/page.js';
import { STATUSES, statusLabel, statusOf, historyOf, matchesSearch } from '/orders.js';
import { el, formatMoney, formatTime, formatLocation, isLocation, shortId } from '/view.js';

const $ = (id) => document.getElementById(id);
const rows = $('order-rows');
const BASE_TITLE = document.title;
/** How long rows that came in while the tab was hidden stay marked once it is visible again. */
const UNSEEN_MARK_MS = 8000;

let selectedId = null;
/** The filter on screen: a status ('' for all) and search text. */
const filter = { status: '', q: '' };
/** Orders per status as of the last load, kept right by the events since. */
let counts = null;
/** Orders that arrived while the tab was hidden and are not seen yet. */
const unseen = new Set();
let unseenTimer = null;

const page = new OrderPage({
  tokenKey: 'orderpush.token.admin',
  identify(claims) {
    const who = claims?.sub ? `${claims.sub} · ${claims.role ?? 'unknown role'}` : '';
    if (claims?.role === 'user' && claims.sub) {
      // The server would refuse the `admin` channel; follow what this token may see.
      return {
        channel: `user:${claims.sub}`,
        who,
        warning: 'This token has role "user": it sees only its own orders and cannot change tracking. Use a token with role admin.',
      };
    }
    return { channel: 'admin', who };
  },
  list: rows,
  render: rowFor,
  flashNew: 'row-new',
  flashUpdated: 'row-updated',
  filter: () => ({ status: filter.status, q: filter.q }),
  matches: (order) => (filter.status === '' || statusOf(order) === filter.status) && matchesSearch(order, filter.q),
  onReload(snapshot) {
    if (snapshot?.counts) counts = { ...snapshot.counts };
    renderTabs();
    updateCount();
    if (selectedId !== null) renderDetail();
  },
  onEvent(event) {
    countEvent(event);
    if (event.event === 'order.created') noticeNewOrder(event.order);
  },
  onChange(order) {
    updateCount();
    if (selectedId === String(order.id)) renderDetail();
  },
  onPaging(hasMore, busy) {
    const button = $('load-older');
    button.hidden = !hasMore;
    button.disabled = busy;
    button.textContent = busy ? 'Loading older orders…' : 'Show older orders';
  },
  text: {
    noToken: 'No token. Open this page as /admin?token=<jwt>; mint one with: orderpush token --sub you --role admin',
    unauthorized: 'Signed out: the token is expired or invalid, so orders cannot be loaded or changed. Mint a new one (orderpush token --sub you --role admin) and open /admin?token=<jwt>.',
    emptyUnauthorized: 'Orders cannot be shown without a valid token.',
    loadFailed: 'Could not load orders',
  },
});
const store = page.store;

// --- Table --------------------------------------------------------------------------------

function updateCount() {
  const shown = store.size === 1 ? '1 order' : `${store.size} orders`;
  const total = counts ? (filter.status ? counts[filter.status] ?? 0 : Object.values(counts).reduce((a, b) => a + b, 0)) : null;
  $('order-count').textContent = total !== null && filter.q === '' && total > store.size
    ? `${store.size} of ${total} shown` : `${shown} shown`;
}

// --- Status tabs, search, paging ----------------------------------------------------------

function renderTabs() {
  const all = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : null;
  const tabs = [['', 'All', all], ...STATUSES.map((s) => [s, statusLabel(s), counts?.[s] ?? null])];
  $('status-tabs').replaceChildren(...tabs.map(([status, label, count]) => el('button', {
    type: 'button',
    class: 'status-tab',
    dataset: { status: status || 'all' },
    'aria-pressed': String(filter.status === status),
    onclick: () => setFilter({ status }),
  }, label, count === null ? null : el('span', { class: 'tab-count', dataset: { count: String(count) } }, String(count)))));
}

/** Applies an event to the counts: a new order adds one; a status change moves one. */
function countEvent(event) {
  if (!counts) return;
  const order = event.order;
  if (event.event === 'order.created') {
    const status = statusOf(order);
    counts[status] = (counts[status] ?? 0) + 1;
  } else if (event.event === 'tracking.updated') {
    const history = historyOf(order);
    const before = history.at(-2)?.status;
    const after = statusOf(order);
    if (before && before !== after) {
      counts[before] = Math.max(0, (counts[before] ?? 0) - 1);
      counts[after] = (counts[after] ?? 0) + 1;
    }
  }
  renderTabs();
}

function setFilter(change) {
  Object.assign(filter, change);
  renderTabs();
  updateCount();
  page.refilter();
}

function wireFilters() {
  renderTabs();
  const input = $('search-input');
  let typing = null;
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(typing);
    setFilter({ q: input.value.trim() });
  });
  input.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      if (input.value.trim() !== filter.q) setFilter({ q: input.value.trim() });
    }, 300);
  });
  $('load-older').addEventListener('click', () => page.loadOlder());
}

// --- New orders while the tab is in the background ----------------------------------------

const NOTIFY_KEY = 'orderpush.admin.notify';
const SOUND_KEY = 'orderpush.admin.sound';
let audio = null;

function setting(key) {
  try { return localStorage.getItem(key) === '1'; } catch { return false; }
}

function saveSetting(key, on) {
  try { localStorage.setItem(key, on ? '1' : '0'); } catch { /* storage disabled: for this load only */ }
}

function notificationsAllowed() {
  return 'Notification' in window && Notification.permission === 'granted' && setting(NOTIFY_KEY);
}

function renderNotifyState() {
  const button = $('notify-toggle');
  const state = $('notify-state');
  if (!('Notification' in window)) {
    button.hidden = true;
    state.textContent = 'This browser cannot show desktop notifications; the title counts new orders.';
    return;
  }
  if (Notification.permission === 'denied') {
    button.hidden = true;
    state.textContent = 'Desktop notifications are blocked for this site; the title counts new orders.';
    return;
  }
  const on = notificationsAllowed();
  button.textContent = on ? 'Turn off desktop notifications' : 'Enable desktop notifications';
  button.setAttribute('aria-pressed', String(on));
  state.textContent = on ? 'Notifications on.' : '';
  document.body.dataset.notifications = on ? 'on' : 'off';
}

function wireAlerts() {
  $('notify-toggle').addEventListener('click', async () => {
    if (notificationsAllowed()) {
      saveSetting(NOTIFY_KEY, false);
    } else {
      // Asked only here, on the admin's click, never on load.
      const answer = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
      saveSetting(NOTIFY_KEY, answer === 'granted');
    }
    renderNotifyState();
  });
  const sound = $('sound-toggle');
  sound.checked = setting(SOUND_KEY);
  sound.addEventListener('change', () => {
    saveSetting(SOUND_KEY, sound.checked);
    if (sound.checked) beep(); // Created on a click, so the browser lets it play later.
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') seen();
  });
  renderNotifyState();
}

function noticeNewOrder(order) {
  if (document.visibilityState !== 'hidden') return;
  unseen.add(String(order.id));
  page.node(order.id)?.classList.add('row-unseen');
  clearTimeout(unseenTimer);
  document.title = `(${unseen.size}) ${BASE_TITLE}`;
  if (notificationsAllowed()) {
    const note = new Notification('New order', {
      body: `#${shortId(order.id)} · ${order.userId ?? ''} · ${formatMoney(order.total)}`,
      tag: `order-${order.id}`,
    });
    note.onclick = () => {
      window.focus();
      select(String(order.id));
      note.close();
    };
  }
  if ($('sound-toggle').checked) beep();
}

/** The tab is visible again: the title count goes; the marks a little later, once looked at. */
function seen() {
  document.title = BASE_TITLE;
  if (unseen.size === 0) return;
  clearTimeout(unseenTimer);
  unseenTimer = setTimeout(() => {
    unseen.clear();
    for (const row of rows.querySelectorAll('tr.row-unseen')) row.classList.remove('row-unseen');
  }, UNSEEN_MARK_MS);
}

function beep() {
  try {
    audio ??= new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
  } catch {
    // No audio output: the title and the marks still tell.
  }
}

function rowFor(order) {
  const id = String(order.id);
  const status = statusOf(order);
  const partner = order.tracking?.deliveryPartner;
  const row = el('tr', {
    dataset: { orderId: id, status },
    class: [selectedId === id ? 'selected' : '', unseen.has(id) ? 'row-unseen' : ''].join(' ').trim(),
    onclick: () => select(id),
  },
  el('td', { dataset: { label: 'Order' }, class: 'col-order' },
    el('button', { type: 'button', class: 'link-button mono', title: id, 'aria-label': `Order ${id}, show details` }, `#${shortId(id)}`)),
  el('td', { dataset: { label: 'Customer' }, class: 'col-customer mono' }, order.userId ?? '—'),
  el('td', { dataset: { label: 'Status' }, class: 'col-status' }, statusPill(status)),
  el('td', { dataset: { label: 'Total' }, class: 'col-total num' }, formatMoney(order.total)),
  el('td', { dataset: { label: 'Delivery partner' }, class: 'col-partner' }, partner?.name ?? '—'),
  el('td', { dataset: { label: 'Updated' }, class: 'col-updated' }, el('time', { datetime: order.updatedAt ?? '' }, formatTime(order.updatedAt))));
  if (selectedId === id) row.setAttribute('aria-current', 'true');
  return row;
}

function statusPill(status) {
  return el('span', { class: `pill status-${status}`, dataset: { status } }, statusLabel(status));
}

// --- Detail pane --------------------------------------------------------------------------

function wireDetail() {
  const select = $('status-select');
  for (const status of STATUSES) select.append(el('option', { value: status }, statusLabel(status)));

  $('detail-close').addEventListener('click', closeDetail);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && selectedId !== null) closeDetail();
  });

  $('form-status').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const change = { status: form.status.value };
    const note = form.note.value.trim();
    if (note) change.note = note;
    submitTracking(form, change, () => { form.note.value = ''; });
  });
  $('form-location').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const lat = form.lat.valueAsNumber;
    const lng = form.lng.valueAsNumber;
    if (!Number.isFinite(lat) || !Number.isFinite(lng)) {
      showFormMessage(form, 'error', 'Enter a latitude and a longitude as numbers.');
      return;
    }
    submitTracking(form, { location: { lat, lng } });
  });
  $('form-partner').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const name = form.name.value.trim();
    const phone = form.phone.value.trim();
    if (!name) {
      showFormMessage(form, 'error', 'Enter the partner\'s name.');
      return;
    }
    const partner = { name };
    if (phone) partner.phone = phone;
    submitTracking(form, { deliveryPartner: partner });
  });
}

function select(id) {
  const changed = selectedId !== id;
  if (unseen.delete(id)) page.node(id)?.classList.remove('row-unseen');
  selectedId = id;
  for (const row of rows.querySelectorAll('tr.selected')) {
    row.classList.remove('selected');
    row.removeAttribute('aria-current');
  }
  const row = page.node(id);
  row?.classList.add('selected');
  row?.setAttribute('aria-current', 'true');
  renderDetail();
  if (changed) fillForms();
  const pane = $('detail');
  pane.hidden = false;
  document.body.classList.add('detail-open');
  $('detail-heading').focus({ preventScroll: !window.matchMedia('(max-width: 860px)').matches });
}

function closeDetail() {
  const id = selectedId;
  selectedId = null;
  $('detail').hidden = true;
  document.body.classList.remove('detail-open');
  const row = id && page.node(id);
  if (row) {
    row.classList.remove('selected');
    row.removeAttribute('aria-current');
    row.querySelector('button')?.focus();
  }
}

/** Pre-fills the forms from the selected order; only on selection, so live updates never overwrite typing. */
function fillForms() {
  const order = store.get(selectedId);
  if (!order) return;
  $('status-select').value = statusOf(order);
  $('status-note').value = '';
  const location = order.tracking?.location;
  $('location-lat').value = isLocation(location) ? String(location.lat) : '';
  $('location-lng').value = isLocation(location) ? String(location.lng) : '';
  const partner = order.tracking?.deliveryPartner;
  $('partner-name').value = partner?.name ?? '';
  $('partner-phone').value = partner?.phone ?? '';
  for (const msg of document.querySelectorAll('#detail .form-msg')) {
    msg.textContent = '';
    msg.className = 'form-msg';
  }
}

function renderDetail() {
  const order = store.get(selectedId);
  const body = $('detail-body');
  if (!order) {
    body.replaceChildren(el('p', { class: 'empty' }, 'This order is no longer visible.'));
    $('detail-more').replaceChildren();
    return;
  }
  $('detail-heading').textContent = `Order #${shortId(order.id)}`;
  $('detail-heading').title = String(order.id);
  body.dataset.orderId = String(order.id);
  const status = statusOf(order);
  const partner = order.tracking?.deliveryPartner;

  body.replaceChildren(definitionList([
    ['Order id', el('span', { class: 'mono break' }, String(order.id))],
    ['Customer', el('span', { class: 'mono' }, order.userId ?? '—')],
    ['Status', statusPill(status)],
    ['Total', formatMoney(order.total)],
    ['Payment', order.paymentMethod ?? '—'],
    ['Created', formatTime(order.createdAt)],
    ['Updated', formatTime(order.updatedAt)],
    ['Location', formatLocation(order.tracking?.location)],
    ['Delivery partner', partner?.name
      ? [partner.name, partner.phone ? [' · ', el('a', { class: 'nowrap', href: `tel:${partner.phone.replace(/[^+\d]/g, '')}` }, partner.phone)] : null]
      : '—'],
  ]));
  // The forms sit between the summary and the rest: changing tracking is what this pane is for.
  $('detail-more').replaceChildren(
    el('h3', { class: 'section-title' }, 'Tracking history'),
    timeline(order),
    el('h3', { class: 'section-title' }, 'Items'),
    itemsTable(order),
    el('h3', { class: 'section-title' }, 'Shipping address'),
    objectView(order.shippingAddress, 'No shipping address.'),
    el('h3', { class: 'section-title' }, 'Metadata'),
    objectView(order.metadata, 'No metadata.'),
  );
}

function definitionList(pairs) {
  return el('dl', { class: 'facts' }, pairs.map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

function itemsTable(order) {
  const items = Array.isArray(order.items) ? order.items : [];
  if (items.length === 0) return el('p', { class: 'muted' }, 'No items.');
  return el('table', { class: 'items' },
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, 'Item'), el('th', { scope: 'col', class: 'num' }, 'Qty'),
      el('th', { scope: 'col', class: 'num' }, 'Price'), el('th', { scope: 'col', class: 'num' }, 'Line'))),
    el('tbody', {}, items.map((item) => el('tr', {},
      el('td', {}, item.name ?? item.productId ?? '—', item.productId && item.name ? el('div', { class: 'muted mono small' }, item.productId) : null),
      el('td', { class: 'num' }, String(item.quantity ?? '—')),
      el('td', { class: 'num' }, formatMoney(item.price)),
      el('td', { class: 'num' }, formatMoney((item.quantity ?? 0) * (item.price ?? 0)))))),
    el('tfoot', {}, el('tr', {}, el('th', { scope: 'row', colspan: '3' }, 'Total'), el('td', { class: 'num' }, formatMoney(order.total)))));
}

/** Key/value view of an arbitrary JSON object (address, metadata). */
function objectView(value, emptyText) {
  if (value === null || value === undefined || (typeof value === 'object' && Object.keys(value).length === 0)) {
    return el('p', { class: 'muted' }, emptyText);
  }
  if (typeof value !== 'object' || Array.isArray(value)) return el('pre', { class: 'json' }, JSON.stringify(value, null, 2));
  return definitionList(Object.entries(value).map(([key, v]) => [
    key,
    v !== null && typeof v === 'object' ? el('pre', { class: 'json' }, JSON.stringify(v, null, 2)) : String(v),
  ]));
}

function timeline(order) {
  const history = historyOf(order);
  if (history.length === 0) return el('p', { class: 'muted' }, 'No tracking updates yet.');
  // Every update records the status it left; a pill only where it changed keeps
  // location-only updates from reading as repeated status changes.
  return el('ol', { class: 'history' }, history.map((entry, i) => el('li', {
    class: entry.status && entry.status !== history[i - 1]?.status ? 'history-status' : 'history-minor',
  },
    el('div', { class: 'history-head' },
      entry.status && entry.status !== history[i - 1]?.status ? statusPill(entry.status) : null,
      el('time', { datetime: entry.at ?? '' }, formatTime(entry.at))),
    entry.note ? el('p', { class: 'history-note' }, entry.note) : null,
    isLocation(entry.location) ? el('p', { class: 'muted small' }, `Location ${formatLocation(entry.location)}`) : null)));
}

// --- Forms --------------------------------------------------------------------------------

async function submitTracking(form, change, onSaved = () => {}) {
  const id = selectedId;
  if (id === null) return;
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  showFormMessage(form, 'pending', 'Saving…');
  try {
    const answer = await page.api.updateTracking(id, change);
    page.apply(answer.order, answer.seq);
    showFormMessage(form, 'ok', 'Saved.');
    onSaved();
  } catch (err) {
    if (err.status === 401) page.unauthorized();
    showFormMessage(form, 'error', `Not saved. ${err.message}${err.status ? ` (${err.status})` : ''}`);
  } finally {
    button.disabled = false;
  }
}

function showFormMessage(form, kind, text) {
  const msg = form.querySelector('.form-msg');
  msg.className = `form-msg form-msg-${kind}`;
  msg.textContent = text;
}

wireDetail();
wireFilters();
wireAlerts();
page.start();
