// The example backend against the real OrderPush binary (`node --test examples/shop-backend/`
// from the repository root, after `swift build`; ORDERPUSH_BIN names another binary).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createShopBackend } from './server.js';
import { OrderPushAPI } from './orderpush-api.js';
import { signToken } from './jwt.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const binary = process.env.ORDERPUSH_BIN ?? join(repoRoot, '.build/debug/orderpush');

let tmp, keysDir, orderPush, orderPushUrl, stderr = '', shop, shopUrl;

/** Resolves once OrderPush's standard error holds `text` (generous timeout: only bounds a broken run). */
function waitForLog(text, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (stderr.includes(text)) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`no "${text}" in the log:\n${stderr}`));
      setTimeout(check, 20);
    };
    check();
  });
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'orderpush-shop-'));
  keysDir = join(tmp, 'keys');
  mkdirSync(keysDir, { mode: 0o700 });
  writeFileSync(join(keysDir, '2026-12'), randomBytes(32).toString('hex') + '\n', { mode: 0o600 });

  orderPush = spawn(binary, ['serve', '--port', '0', '--db', join(tmp, 'orderpush.sqlite'),
    '--jwt-keys', keysDir, '--web', join(repoRoot, 'web')], { stdio: ['ignore', 'pipe', 'pipe'] });
  orderPush.stderr.on('data', (d) => { stderr += d; });
  orderPushUrl = await new Promise((resolve, reject) => {
    let out = '';
    orderPush.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) resolve(m[1]);
    });
    orderPush.on('exit', (code) => reject(new Error(`orderpush exited (${code}) before listening:\n${stderr}`)));
  });

  shop = createShopBackend({ orderPushUrl, keysDir, kid: '2026-12' });
  await new Promise((r) => shop.server.listen(0, '127.0.0.1', r));
  shopUrl = `http://127.0.0.1:${shop.server.address().port}`;
});

after(async () => {
  shop?.server.close();
  if (orderPush && orderPush.exitCode === null) {
    const exited = new Promise((r) => orderPush.on('exit', r));
    orderPush.kill('SIGTERM');
    await exited;
  }
  rmSync(tmp, { recursive: true, force: true });
});

async function call(method, url, { body, token } = {}) {
  const res = await fetch(url, {
    method,
    headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
}

const items = [{ productId: 'tea-1', name: 'Assam tea', quantity: 2, price: 120 }];

test('login mints a customer token with the kid header that OrderPush accepts', async () => {
  const login = await call('POST', `${shopUrl}/api/login`, { body: { userId: 'alice' } });
  assert.equal(login.status, 200);
  assert.equal(login.body.channel, 'user:alice');
  const header = JSON.parse(Buffer.from(login.body.token.split('.')[0], 'base64url').toString());
  assert.deepEqual(header, { alg: 'HS256', typ: 'JWT', kid: '2026-12' });
  const polled = await call('GET', `${orderPushUrl}/api/orders`, { token: login.body.token });
  assert.equal(polled.status, 200);
  assert.ok(Array.isArray(polled.body.orders));
});

test('checkout creates the order once: a retry with the same shop order id gets the same order', async () => {
  const shopOrderId = `mongo-${randomBytes(6).toString('hex')}`;
  const first = await call('POST', `${shopUrl}/api/checkout`, { body: { shopOrderId, userId: 'bob', items, paymentMethod: 'cod' } });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.equal(first.body.replayed, false);
  assert.equal(first.body.order.userId, 'bob');
  assert.equal(first.body.order.metadata.shopOrderId, shopOrderId);

  const retry = await call('POST', `${shopUrl}/api/checkout`, { body: { shopOrderId, userId: 'bob', items, paymentMethod: 'cod' } });
  assert.equal(retry.status, 201);
  assert.equal(retry.body.replayed, true);
  assert.equal(retry.body.orderPushId, first.body.orderPushId);
  assert.equal(retry.body.seq, first.body.seq);

  const bob = (await call('POST', `${shopUrl}/api/login`, { body: { userId: 'bob' } })).body.token;
  const legacy = await call('GET', `${orderPushUrl}/api/orders/manage`, { token: bob });
  assert.equal(legacy.status, 200);
  assert.equal(legacy.body.orders.filter((o) => o.metadata?.shopOrderId === shopOrderId).length, 1);
});

test('a tracking update through the shop reaches the customer (events and the legacy list)', async () => {
  const shopOrderId = `mongo-${randomBytes(6).toString('hex')}`;
  const carol = (await call('POST', `${shopUrl}/api/login`, { body: { userId: 'carol' } })).body.token;
  const start = await call('GET', `${orderPushUrl}/api/orders`, { token: carol });
  const created = await call('POST', `${shopUrl}/api/checkout`, { body: { shopOrderId, userId: 'carol', items, paymentMethod: 'razorpay' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));

  const update = await call('PUT', `${shopUrl}/api/orders/tracking`, {
    body: { shopOrderId, status: 'out_for_delivery', deliveryPartner: { name: 'Ravi', phone: '+91 98450 00000' }, note: 'near the gate' },
  });
  assert.equal(update.status, 200, JSON.stringify(update.body));
  assert.equal(update.body.order.tracking.status, 'out_for_delivery');

  // What orderpush.js receives on `user:carol`, here through the polling transport.
  const events = await call('GET', `${orderPushUrl}/api/orders?since=${start.body.cursor}&epoch=${start.body.epoch}`, { token: carol });
  assert.equal(events.status, 200);
  assert.deepEqual(events.body.events.map((e) => [e.channel, e.event, e.order.id]), [
    ['user:carol', 'order.created', created.body.orderPushId],
    ['user:carol', 'tracking.updated', created.body.orderPushId],
  ]);
  assert.equal(events.body.events[1].order.tracking.deliveryPartner.name, 'Ravi');

  // The old 5-second polling pages, unchanged: the shop's own route, with its session.
  const manage = async (headers) => {
    const res = await fetch(`${shopUrl}/api/orders/manage`, { headers });
    return { status: res.status, body: await res.json() };
  };
  const legacy = await manage({ 'X-Shop-User': 'carol' });
  assert.equal(legacy.status, 200);
  assert.deepEqual(Object.keys(legacy.body), ['orders']);
  assert.ok(legacy.body.orders.every((o) => o.userId === 'carol'));
  const order = legacy.body.orders.find((o) => o.id === created.body.orderPushId);
  assert.equal(order.tracking.status, 'out_for_delivery');
  const adminView = await manage({ 'X-Shop-User': 'ops', 'X-Shop-Admin': '1' });
  assert.ok(adminView.body.orders.some((o) => o.id === created.body.orderPushId));
  assert.ok(adminView.body.orders.some((o) => o.userId !== 'carol'));
  assert.equal((await manage({})).status, 401);

  const unknown = await call('PUT', `${shopUrl}/api/orders/tracking`, { body: { shopOrderId: 'never-created', status: 'packed' } });
  assert.equal(unknown.status, 404);
});

test('a customer may not read another customer\'s orders, and a foreign key is refused', async () => {
  const dave = (await call('POST', `${shopUrl}/api/login`, { body: { userId: 'dave' } })).body.token;
  const created = await call('POST', `${shopUrl}/api/checkout`, { body: { userId: 'erin', items, paymentMethod: 'cod' } });
  assert.equal((await call('GET', `${orderPushUrl}/api/orders/${created.body.orderPushId}`, { token: dave })).status, 403);
  const foreign = signToken({ sub: 'dave', role: 'user' }, { key: randomBytes(32), kid: 'not-a-key' });
  const refused = await call('GET', `${orderPushUrl}/api/orders`, { token: foreign });
  assert.equal(refused.status, 401);
  assert.match(refused.body.error.message, /kid/);
});

test('key rotation: new key added and SIGHUP, the shop signs with it, the old key removed and SIGHUP', async () => {
  const oldToken = (await call('POST', `${shopUrl}/api/login`, { body: { userId: 'frank' } })).body.token;
  writeFileSync(join(keysDir, '2027-06'), randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  orderPush.kill('SIGHUP');
  await waitForLog('signing keys reloaded: 2 keys (2026-12, 2027-06), primary 2026-12');

  shop.useSigningKey('2027-06');
  const newToken = (await call('POST', `${shopUrl}/api/login`, { body: { userId: 'frank' } })).body.token;
  assert.equal(JSON.parse(Buffer.from(newToken.split('.')[0], 'base64url')).kid, '2027-06');
  assert.equal((await call('GET', `${orderPushUrl}/api/orders`, { token: newToken })).status, 200);
  assert.equal((await call('GET', `${orderPushUrl}/api/orders`, { token: oldToken })).status, 200); // both, during the overlap
  const checkout = await call('POST', `${shopUrl}/api/checkout`, { body: { userId: 'frank', items, paymentMethod: 'cod' } });
  assert.equal(checkout.status, 201); // the service token follows the switch

  unlinkSync(join(keysDir, '2026-12'));
  orderPush.kill('SIGHUP');
  await waitForLog('signing keys reloaded: 1 key (2027-06), primary 2027-06');
  assert.equal((await call('GET', `${orderPushUrl}/api/orders`, { token: oldToken })).status, 401);
  assert.equal((await call('GET', `${orderPushUrl}/api/orders`, { token: newToken })).status, 200);
});

test('the API client refuses what OrderPush refuses, with its code', async () => {
  const api = new OrderPushAPI({ baseUrl: orderPushUrl, signing: () => ({ key: randomBytes(32), kid: 'unknown' }) });
  await assert.rejects(api.createOrder('x-1', { userId: 'u', items, paymentMethod: 'cod' }), (err) => err.status === 401 && err.code === 'unauthorized');
});
