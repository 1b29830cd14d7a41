/**
 * session.js — what both pages need to talk to the server: the token (taken from
 * `?token=` once, then kept in sessionStorage), its decoded claims, and a small
 * JSON API wrapper that turns the server's error objects into ApiError.
 */

/**
 * Returns the page's token. A `?token=` in the address is moved into sessionStorage
 * and removed from the address bar, so it does not linger in history or get copied
 * along with the URL.
 * @param {string} storageKey sessionStorage key (one per page, so one tab can hold both)
 * @returns {string|null}
 */
export function takeToken(storageKey) {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl !== null && fromUrl.trim() !== '') {
    try {
      sessionStorage.setItem(storageKey, fromUrl.trim());
    } catch {
      // Storage disabled (private mode): the token still works for this load.
    }
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return fromUrl.trim();
  }
  try {
    return sessionStorage.getItem(storageKey);
  } catch {
    return null;
  }
}

/** Forgets the stored token (after the server refused it). */
export function dropToken(storageKey) {
  try {
    sessionStorage.removeItem(storageKey);
  } catch {
    // Nothing stored.
  }
}

/**
 * Decodes a JWT's payload for display. This does not verify anything; the server does.
 * @returns {{sub?: string, role?: string, exp?: number}|null}
 */
export function readClaims(token) {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims !== null && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

/** `?transport=websocket|sse|polling|auto` lets a page be forced onto one transport (for tests and debugging). */
export function transportFromUrl() {
  const value = new URLSearchParams(location.search).get('transport');
  return value === 'polling' || value === 'websocket' || value === 'sse' ? value : 'auto';
}

/** A failed API call: `status` 0 means the server could not be reached. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/**
 * The HTTP calls the pages make, with Bearer auth.
 * @param {string} token
 */
export function createApi(token) {
  async function request(method, path, body) {
    const headers = { Accept: 'application/json', Authorization: `Bearer ${token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, 'unreachable', 'The server cannot be reached.');
    }
    const payload = await response.json().catch(() => null);
    if (!response.ok) {
      const code = payload?.error?.code ?? `http_${response.status}`;
      const message = payload?.error?.message ?? `${response.status} ${response.statusText}`.trim();
      throw new ApiError(response.status, code, message);
    }
    if (payload === null) throw new ApiError(response.status, 'bad_response', 'The server sent an answer that is not JSON.');
    return payload;
  }

  return {
    /** The caller's orders plus the cursor and epoch to subscribe from. */
    listOrders: () => request('GET', '/api/orders'),
    /**
     * One page of GET /api/orders/search; `params` {status, q, userId, limit, before, counts}.
     * @returns {Promise<{orders: object[], next: string|null, counts?: object, cursor?: number, epoch?: string}>}
     */
    search: (params) => {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(params ?? {})) {
        if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
      }
      return request('GET', `/api/orders/search?${query}`);
    },
    /** @returns {Promise<{order: object, seq: number}>} */
    updateTracking: (id, change) => request('PUT', `/api/orders/${encodeURIComponent(id)}/tracking`, change),
  };
}
