// A minimal shop backend on OrderPush, standing in for the Next.js API routes of the shop
// (docs/INTEGRATION.md). Node 20 built-ins only. It:
//   - creates each order in OrderPush with a service token and `Idempotency-Key: <the
//     shop's own order id>`, so a retried checkout never makes a second order;
//   - pushes tracking changes (the admin's `/api/orders/tracking`) to OrderPush;
//   - mints customer tokens at login (HS256 with the key's `kid`), which the customer's
//     pages give to orderpush.js;
//   - keeps `GET /api/orders/manage` answering the old polling pages (the legacy shape,
//     now read from OrderPush) until each page has moved to orderpush.js.
// A Map stands in for MongoDB. Authentication of the shop's own users and admins is the
// shop's business and left out here: every route trusts its caller.
//
// Run:  ORDERPUSH_URL=http://127.0.0.1:8080 JWT_KEYS_DIR=/etc/orderpush/keys JWT_KID=2026-12 node server.js
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { signToken, readKeyFile } from './jwt.js';
import { OrderPushAPI, OrderPushError } from './orderpush-api.js';

/** How long a customer token lives: the longest token lifetime, which key rotation waits out. */
export const CUSTOMER_TOKEN_TTL_SECONDS = 3600;

/**
 * @param {{orderPushUrl: string, keysDir: string, kid: string}} config
 *   `keysDir` is OrderPush's --jwt-keys folder (or a copy of the keys the shop may sign with);
 *   `kid` is the key to sign with: OrderPush's primary, a file name in `keysDir`.
 */
export function createShopBackend({ orderPushUrl, keysDir, kid }) {
  let signingKid = kid;
  // Read at each use: rotating means dropping the new file in and switching `signingKid`.
  const signing = () => ({ key: readKeyFile(join(keysDir, signingKid)), kid: signingKid });
  const orderPush = new OrderPushAPI({ baseUrl: orderPushUrl, signing });
  /** shopOrderId -> the shop's order document, with `orderPushId` once OrderPush has it. */
  const orders = new Map();

  const routes = {
    // The shop's login route, after it has checked the password: a token for orderpush.js.
    'POST /api/login': async ({ userId }) => {
      if (typeof userId !== 'string' || userId === '') return [400, { error: 'userId is required' }];
      const token = signToken({ sub: userId, role: 'user' }, { ...signing(), ttlSeconds: CUSTOMER_TOKEN_TTL_SECONDS });
      return [200, { token, channel: `user:${userId}`, expiresIn: CUSTOMER_TOKEN_TTL_SECONDS }];
    },

    // Checkout: save the shop's order first (its id is the idempotency key), then create it
    // in OrderPush. A client retrying with the same shopOrderId gets the same order back.
    'POST /api/checkout': async ({ shopOrderId = randomUUID(), userId, items, paymentMethod, shippingAddress }) => {
      let order = orders.get(shopOrderId);
      if (!order) {
        order = { shopOrderId, userId, items, paymentMethod, shippingAddress, orderPushId: null };
        orders.set(shopOrderId, order);
      }
      const created = await orderPush.createOrder(shopOrderId, {
        userId: order.userId, items: order.items, paymentMethod: order.paymentMethod, shippingAddress: order.shippingAddress,
      });
      order.orderPushId = created.order.id;
      return [201, { shopOrderId, orderPushId: created.order.id, seq: created.seq, replayed: created.replayed, order: created.order }];
    },

    // The old pages' 5-second poll, unchanged for them: the shop checks its own session as
    // before (here a stand-in header), then asks OrderPush for the same list shape with a
    // token for that user (or a service token for the admin panel).
    'GET /api/orders/manage': async (_input, req) => {
      const user = req.headers['x-shop-user'];
      if (typeof user !== 'string' || user === '') return [401, { error: 'not logged in' }];
      const token = req.headers['x-shop-admin'] === '1'
        ? orderPush.serviceToken()
        : signToken({ sub: user, role: 'user' }, { ...signing(), ttlSeconds: 60 });
      const { status, body } = await orderPush.request('GET', '/api/orders/manage', { token });
      return [status, body];
    },

    // The admin panel's existing update route: the shop keeps its own copy up to date and
    // OrderPush pushes the change to the customer's page and every admin page.
    'PUT /api/orders/tracking': async ({ shopOrderId, ...changes }) => {
      const order = orders.get(shopOrderId);
      if (!order?.orderPushId) return [404, { error: `no order ${shopOrderId}` }];
      const updated = await orderPush.updateTracking(order.orderPushId, changes);
      order.status = updated.order.status;
      return [200, { shopOrderId, seq: updated.seq, order: updated.order }];
    },
  };

  const server = http.createServer(async (req, res) => {
    const route = routes[`${req.method} ${new URL(req.url, 'http://x').pathname}`];
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!route) return send(404, { error: 'no route' });
    try {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const input = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      const [status, body] = await route(input, req);
      send(status, body);
    } catch (err) {
      if (err instanceof OrderPushError) send(err.status >= 500 ? 502 : err.status, { error: err.message, code: err.code });
      else if (err instanceof SyntaxError) send(400, { error: 'the body is not JSON' });
      else send(500, { error: err.message });
    }
  });

  return {
    server,
    orderPush,
    orders,
    /** Key rotation step 2: sign from now on with another key of the folder. */
    useSigningKey(newKid) { signingKid = newKid; },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { ORDERPUSH_URL = 'http://127.0.0.1:8080', JWT_KEYS_DIR, JWT_KID, PORT = '3001' } = process.env;
  if (!JWT_KEYS_DIR || !JWT_KID) {
    console.error('set JWT_KEYS_DIR (OrderPush --jwt-keys folder) and JWT_KID (its primary key id)');
    process.exit(2);
  }
  const { server } = createShopBackend({ orderPushUrl: ORDERPUSH_URL, keysDir: JWT_KEYS_DIR, kid: JWT_KID });
  server.listen(Number(PORT), '127.0.0.1', () => console.log(`shop backend on http://127.0.0.1:${server.address().port}`));
}
