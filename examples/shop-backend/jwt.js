// HS256 JSON Web Tokens with node:crypto only: what `jsonwebtoken` does for OrderPush in
// a few lines. With the npm package instead:
//
//   import jwt from 'jsonwebtoken';
//   jwt.sign({ sub, role }, key, { algorithm: 'HS256', keyid: kid, expiresIn: ttlSeconds });
//
// OrderPush needs `sub`, `role` ('admin' | 'user' | 'service') and `exp`; `kid` in the
// header names the key (docs/PROTOCOL.md §1).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

const base64url = (value) => Buffer.from(value).toString('base64url');

/**
 * Signs a token.
 * @param {{sub: string, role: 'admin'|'user'|'service'}} claims
 * @param {{key: Buffer, kid?: string|null, ttlSeconds?: number, now?: number}} options
 * @returns {string} header.payload.signature
 */
export function signToken({ sub, role }, { key, kid = null, ttlSeconds = 3600, now = Math.floor(Date.now() / 1000) }) {
  if (typeof sub !== 'string' || sub === '') throw new TypeError('sub must be a non-empty string');
  const header = kid ? { alg: 'HS256', typ: 'JWT', kid } : { alg: 'HS256', typ: 'JWT' };
  const payload = { sub, role, iat: now, exp: now + ttlSeconds };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = createHmac('sha256', key).update(input).digest('base64url');
  return `${input}.${signature}`;
}

/**
 * Checks a token's signature and expiry (the shop's own use: OrderPush verifies its own).
 * @returns {{header: object, payload: object} | null}
 */
export function verifyToken(token, keysByKid, { now = Math.floor(Date.now() / 1000) } = {}) {
  const [h, p, s] = String(token).split('.');
  if (!h || !p || !s) return null;
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  const key = keysByKid.get(header.kid ?? null);
  if (header.alg !== 'HS256' || !key) return null;
  const expected = createHmac('sha256', key).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  return payload.exp >= now ? { header, payload } : null;
}

/**
 * Reads a key file the way OrderPush does: its bytes, one trailing newline removed.
 * The kid is the file's name in OrderPush's --jwt-keys folder.
 */
export function readKeyFile(path) {
  let bytes = readFileSync(path);
  if (bytes.at(-1) === 0x0a) bytes = bytes.subarray(0, bytes.length - (bytes.at(-2) === 0x0d ? 2 : 1));
  if (bytes.length === 0) throw new Error(`key file ${path} is empty`);
  return bytes;
}
