// The shop backend's calls to OrderPush (docs/PROTOCOL.md §4), with node:http only.
// Every call carries a service token the backend mints itself, so no long-lived token is
// stored anywhere.
import http from 'node:http';
import https from 'node:https';
import { signToken } from './jwt.js';

export class OrderPushError extends Error {
  constructor(status, body) {
    super(`OrderPush answered ${status}: ${body?.error?.message ?? JSON.stringify(body)}`);
    this.status = status;
    this.code = body?.error?.code ?? null;
  }
}

export class OrderPushAPI {
  /**
   * @param {{baseUrl: string, signing: () => {key: Buffer, kid: string|null}, serviceName?: string}} options
   *   `signing` is asked for the current key at each token, so a key rotation needs no restart.
   */
  constructor({ baseUrl, signing, serviceName = 'shop-backend' }) {
    this.baseUrl = new URL(baseUrl);
    this.signing = signing;
    this.serviceName = serviceName;
    this.cachedServiceToken = null;
  }

  /** A service token, reused for 4 of its 5 minutes. */
  serviceToken() {
    const now = Math.floor(Date.now() / 1000);
    const cached = this.cachedServiceToken;
    const { key, kid } = this.signing();
    if (cached && cached.kid === kid && cached.renewAt > now) return cached.token;
    const token = signToken({ sub: this.serviceName, role: 'service' }, { key, kid, ttlSeconds: 300, now });
    this.cachedServiceToken = { token, kid, renewAt: now + 240 };
    return token;
  }

  /**
   * Creates the order in OrderPush. `shopOrderId` (the shop's own id, e.g. the MongoDB
   * _id) is the Idempotency-Key: a retry after a timeout or crash gets the same order,
   * never a second one.
   * @returns {Promise<{order: object, seq: number, replayed: boolean}>}
   */
  async createOrder(shopOrderId, { userId, items, paymentMethod, shippingAddress, metadata }) {
    const { status, headers, body } = await this.request('POST', '/api/orders', {
      body: { userId, items, paymentMethod, shippingAddress, metadata: { ...metadata, shopOrderId } },
      headers: { 'Idempotency-Key': String(shopOrderId) },
    });
    if (status !== 201) throw new OrderPushError(status, body);
    return { order: body.order, seq: body.seq, replayed: headers['idempotent-replayed'] === 'true' };
  }

  /**
   * Pushes a tracking change (status, location, deliveryPartner, note): OrderPush stores it
   * and sends a `tracking.updated` event to the customer's and the admins' pages.
   */
  async updateTracking(orderPushId, changes) {
    const { status, body } = await this.request('PUT', `/api/orders/${encodeURIComponent(orderPushId)}/tracking`, { body: changes });
    if (status !== 200) throw new OrderPushError(status, body);
    return { order: body.order, seq: body.seq };
  }

  async getOrder(orderPushId) {
    const { status, body } = await this.request('GET', `/api/orders/${encodeURIComponent(orderPushId)}`);
    if (status !== 200) throw new OrderPushError(status, body);
    return body.order ?? body;
  }

  /** One HTTP request with the service token; JSON in, JSON out. */
  request(method, path, { body = undefined, headers = {}, token = this.serviceToken() } = {}) {
    const url = new URL(path, this.baseUrl);
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
          ...headers,
        },
        timeout: 10_000,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try { json = text ? JSON.parse(text) : null; } catch { json = { raw: text }; }
          resolve({ status: res.statusCode, headers: res.headers, body: json });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`OrderPush did not answer ${method} ${path} within 10 s`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }
}
