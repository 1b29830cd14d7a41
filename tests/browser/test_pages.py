"""Browser tests of /admin and /track against the real orderpush binary.

Each test drives headless Chromium against a server started from ORDERPUSH_BIN
(default .build/debug/orderpush, relative to the repository root) on a free
port, with its own database and secret in a temporary folder (see harness.py).

Needs: chromium and chromedriver (Debian: apt-get install chromium chromium-driver),
Python packages selenium and pytest. CHROME_BIN and CHROMEDRIVER override where
they are looked for. Run from the repository root:

    swift build && python3 -m pytest tests/browser -q
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from harness import BIN, CHROME, CHROMEDRIVER, Server, new_chrome

# Contract numbers the tests hold the pages to.
LIVE_DEADLINE_S = 1.0  # a pushed change is on screen within this
POLL_DEADLINE_S = 6.5  # polling every 5 s, plus one request
RECONNECT_DEADLINE_S = 25.0  # backoff is capped at 15 s with jitter

pytestmark = [
    pytest.mark.skipif(not BIN.exists(), reason=f"server binary not built: {BIN} (set ORDERPUSH_BIN)"),
    pytest.mark.skipif(not CHROME or not CHROMEDRIVER, reason="chromium and chromedriver are needed (apt-get install chromium chromium-driver)"),
]


# --- The server under test ----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("orderpush"))
    srv.start()
    yield srv
    srv.kill()


@pytest.fixture
def own_server(tmp_path):
    """A server of the test's own, for tests that stop and restart it."""
    srv = Server(tmp_path)
    srv.start()
    yield srv
    srv.kill()


# --- Browsers -----------------------------------------------------------------------------


class Browsers:
    def __init__(self):
        self.drivers = []

    def new(self, width: int = 1280, height: int = 800):
        driver = new_chrome(width, height)
        self.drivers.append(driver)
        return driver

    def quit(self):
        for driver in self.drivers:
            try:
                driver.quit()
            except Exception:
                pass


@pytest.fixture
def browsers():
    b = Browsers()
    yield b
    b.quit()


def wait_for(driver, condition, timeout: float, message: str):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(d), message)


def connection(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-connection") or ""


def wait_connection(driver, states: set[str], timeout: float = 10.0):
    wait_for(driver, lambda d: connection(d) in states, timeout,
             f"connection never became {states}; last {connection(driver)!r}")


def open_page(driver, server: Server, page: str, token: str, transport: str | None = None, states=("live",)):
    query = f"?token={token}" + (f"&transport={transport}" if transport else "")
    driver.get(f"{server.base}/{page}{query}")
    wait_connection(driver, set(states))
    assert "token=" not in driver.current_url, "the token must be removed from the address bar"
    driver.execute_script("window.__sameDocument = true")  # gone if the page reloads


def assert_not_reloaded(driver):
    assert driver.execute_script("return window.__sameDocument === true"), "the page reloaded"


def admin_row(driver, order_id: str):
    rows = driver.find_elements(By.CSS_SELECTOR, f'#order-rows tr[data-order-id="{order_id}"]')
    return rows[0] if rows else None


def track_card(driver, order_id: str):
    cards = driver.find_elements(By.CSS_SELECTOR, f'article.order-card[data-order-id="{order_id}"]')
    return cards[0] if cards else None


# Rows and cards are replaced on every update, so read them in one script call
# rather than through element handles that may go stale in between.
_READ = """
const [selector, id] = arguments;
const node = [...document.querySelectorAll(selector)].find((n) => n.dataset.orderId === id);
return node ? { status: node.dataset.status, text: node.innerText } : null;
"""


def card_state(driver, order_id: str) -> dict | None:
    return driver.execute_script(_READ, "article.order-card", order_id)


def row_state(driver, order_id: str) -> dict | None:
    return driver.execute_script(_READ, "#order-rows tr", order_id)


def card_status(driver, order_id: str) -> str | None:
    state = card_state(driver, order_id)
    return state["status"] if state else None


def card_text(driver, order_id: str) -> str:
    state = card_state(driver, order_id)
    return state["text"] if state else ""


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- (a) the admin page shows new orders live ---------------------------------------------


def test_order_posted_through_api_appears_on_open_admin_page_within_a_second(server, browsers):
    admin = browsers.new()
    open_page(admin, server, "admin", server.token(unique("ops"), "admin"))
    customer = unique("cust")

    order = server.create_order(customer, name="Filter Coffee", quantity=3, price=40.0)
    wait_for(admin, lambda d: admin_row(d, order["id"]), LIVE_DEADLINE_S,
             f"order {order['id']} not on the admin page within {LIVE_DEADLINE_S} s")

    assert_not_reloaded(admin)
    first = admin.find_element(By.CSS_SELECTOR, "#order-rows tr")
    assert first.get_attribute("data-order-id") == order["id"], "a new order goes to the top"
    row = row_state(admin, order["id"])
    assert customer in row["text"]
    assert "120.00" in row["text"].replace(",", "")  # 3 × 40, formatted by the page
    assert row["status"] == "placed"
    assert console_errors(admin) == []


# --- (b) and (c) a change made on the admin page reaches only the owner -------------------


def test_tracking_change_from_admin_form_reaches_owners_track_page_within_a_second(server, browsers):
    owner, other = unique("cust"), unique("cust")
    order = server.create_order(owner)
    other_order = server.create_order(other)

    owner_page = browsers.new(390, 844)
    open_page(owner_page, server, "track", server.token(owner, "user"))
    other_page = browsers.new(390, 844)
    open_page(other_page, server, "track", server.token(other, "user"))
    admin = browsers.new()
    open_page(admin, server, "admin", server.token(unique("ops"), "admin"))
    assert card_status(owner_page, order["id"]) == "placed"
    assert track_card(other_page, other_order["id"]) is not None

    wait_for(admin, lambda d: admin_row(d, order["id"]), 5, "order missing from the admin table")
    admin_row(admin, order["id"]).click()
    wait_for(admin, lambda d: d.find_element(By.ID, "detail").is_displayed(), 2, "detail pane did not open")
    assert order["id"] in admin.find_element(By.ID, "detail-body").text
    Select(admin.find_element(By.ID, "status-select")).select_by_value("out_for_delivery")
    admin.find_element(By.ID, "status-note").send_keys("Rider is 10 minutes away")
    admin.find_element(By.CSS_SELECTOR, "#form-status button[type=submit]").click()
    message = admin.find_element(By.CSS_SELECTOR, "#form-status .form-msg")
    wait_for(admin, lambda d: "form-msg-ok" in message.get_attribute("class")
             or "form-msg-error" in message.get_attribute("class"), 5, "the form never answered")
    assert "form-msg-ok" in message.get_attribute("class"), f"PUT refused: {message.text}"

    # The server committed the change before answering; the owner sees it within a second.
    wait_for(owner_page, lambda d: card_status(d, order["id"]) == "out_for_delivery", LIVE_DEADLINE_S,
             "status change not on the owner's page within a second")
    assert "Rider is 10 minutes away" in card_text(owner_page, order["id"])
    assert_not_reloaded(owner_page)

    # A partner assigned the same way shows with a phone link.
    admin.find_element(By.ID, "partner-name").send_keys("Ravi")
    admin.find_element(By.ID, "partner-phone").send_keys("+91 98450 12345")
    admin.find_element(By.CSS_SELECTOR, "#form-partner button[type=submit]").click()
    wait_for(owner_page, lambda d: "Ravi" in card_text(d, order["id"]), 5, "partner not shown")
    phone = owner_page.execute_script(
        "const card = [...document.querySelectorAll('article.order-card')].find((n) => n.dataset.orderId === arguments[0]);"
        "return card?.querySelector('a[href^=\"tel:\"]')?.getAttribute('href') ?? null;", order["id"])
    assert phone == "tel:+919845012345"

    # (c) The other customer's page, live all along, never shows the order.
    assert track_card(other_page, order["id"]) is None
    assert order["id"] not in other_page.page_source
    for page in (owner_page, other_page, admin):
        assert console_errors(page) == []


def test_other_customers_track_page_never_shows_the_order(server, browsers):
    owner, other = unique("cust"), unique("cust")
    other_order = server.create_order(other)
    other_page = browsers.new()
    open_page(other_page, server, "track", server.token(other, "user"))

    order = server.create_order(owner)
    server.update_tracking(order["id"], {"status": "confirmed", "note": "for the owner only"})
    server.update_tracking(order["id"], {"location": {"lat": 12.9716, "lng": 77.5946}})
    # An event for the other customer, after the owner's: once it shows, anything
    # wrongly routed to this channel before it would have shown too.
    server.update_tracking(other_order["id"], {"status": "packed"})
    wait_for(other_page, lambda d: card_status(d, other_order["id"]) == "packed", LIVE_DEADLINE_S,
             "the other customer's own update did not arrive")

    assert track_card(other_page, order["id"]) is None
    assert order["id"] not in other_page.page_source
    assert "for the owner only" not in other_page.page_source
    assert len(other_page.find_elements(By.CSS_SELECTOR, "article.order-card")) == 1
    assert console_errors(other_page) == []


# --- (d) without WebSockets the page polls --------------------------------------------------


def test_track_page_shows_change_by_polling_when_websocket_is_unavailable(server, browsers):
    owner = unique("cust")
    order = server.create_order(owner)
    page = browsers.new(390, 844)
    open_page(page, server, "track", server.token(owner, "user"), transport="polling", states=("polling",))
    assert card_status(page, order["id"]) == "placed"

    server.update_tracking(order["id"], {"status": "shipped", "location": {"lat": 12.98, "lng": 77.6}, "note": "via polling"})
    wait_for(page, lambda d: card_status(d, order["id"]) == "shipped", POLL_DEADLINE_S,
             f"polling did not show the change within {POLL_DEADLINE_S} s")
    text = card_text(page, order["id"])
    assert "via polling" in text
    assert "12.98000, 77.60000" in text
    assert connection(page) == "polling", "transport=polling must never switch to the WebSocket"
    assert_not_reloaded(page)
    assert console_errors(page) == []


# --- (d2) the transport fallback: WebSocket, then Server-Sent Events, then polling ------------

# Injected before any page script through CDP, so nothing test-only ships in web/: a
# WebSocket that never connects (as behind a proxy that breaks them) and, when asked, an
# EventSource that never opens either. Each counts its attempts.
_BLOCK = """
(() => {
  window.__blocked = { websocket: 0, eventsource: 0 };
  const fire = (target, event) => setTimeout(() => {
    const handler = target['on' + event.type];
    if (typeof handler === 'function') handler.call(target, event);
    target.dispatchEvent(event);
  }, 20);
  class BlockedWebSocket extends EventTarget {
    static CONNECTING = 0; static OPEN = 1; static CLOSING = 2; static CLOSED = 3;
    constructor(url) {
      super();
      window.__blocked.websocket += 1;
      this.url = String(url);
      this.readyState = 3;
      fire(this, new CloseEvent('close', { code: 1006, wasClean: false }));
    }
    send() { throw new DOMException('blocked', 'InvalidStateError'); }
    close() {}
  }
  window.WebSocket = BlockedWebSocket;
  if (%(block_sse)s) {
    class BlockedEventSource extends EventTarget {
      static CONNECTING = 0; static OPEN = 1; static CLOSED = 2;
      constructor(url) {
        super();
        window.__blocked.eventsource += 1;
        this.url = String(url);
        this.readyState = 0;
        fire(this, new Event('error'));
      }
      close() { this.readyState = 2; }
    }
    window.EventSource = BlockedEventSource;
  }
})();
"""


def block_transports(driver, sse: bool) -> None:
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _BLOCK % {"block_sse": "true" if sse else "false"}})


def transport(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-transport") or ""


def transport_note(driver) -> str:
    return driver.find_element(By.ID, "transport").text


def test_track_page_uses_server_sent_events_when_websocket_is_blocked(server, browsers):
    owner = unique("sse")
    order = server.create_order(owner)
    page = browsers.new(390, 844)
    block_transports(page, sse=False)
    open_page(page, server, "track", server.token(owner, "user"), states=("live",))
    wait_for(page, lambda d: transport(d) == "sse", 10, f"the page never went to SSE; transport {transport(page)!r}")
    assert transport_note(page) == "via Server-Sent Events"
    assert page.execute_script("return window.__blocked.websocket") >= 2, "the WebSocket was tried first"
    assert card_status(page, order["id"]) == "placed"

    server.update_tracking(order["id"], {"status": "shipped", "note": "via sse"})
    wait_for(page, lambda d: card_status(d, order["id"]) == "shipped", 10, "the change did not arrive over SSE")
    assert "via sse" in card_text(page, order["id"])
    created = server.create_order(owner, name="Filter Coffee")
    wait_for(page, lambda d: card_status(d, created["id"]) == "placed", 10, "a new order did not arrive over SSE")
    assert connection(page) == "live", "SSE is live push, not polling"
    assert transport(page) == "sse"
    assert_not_reloaded(page)
    assert console_errors(page) == []


def test_track_page_polls_when_websocket_and_server_sent_events_are_blocked(server, browsers):
    owner = unique("poll")
    order = server.create_order(owner)
    page = browsers.new(390, 844)
    block_transports(page, sse=True)
    open_page(page, server, "track", server.token(owner, "user"), states=("polling",), )
    wait_for(page, lambda d: transport(d) == "polling", 10, f"transport {transport(page)!r}")
    assert transport_note(page) == "via polling"
    blocked = page.execute_script("return window.__blocked")
    assert blocked["websocket"] >= 2 and blocked["eventsource"] >= 2, f"both were tried first: {blocked}"

    server.update_tracking(order["id"], {"status": "shipped", "note": "via polling fallback"})
    wait_for(page, lambda d: card_status(d, order["id"]) == "shipped", 2 * POLL_DEADLINE_S,
             "polling did not show the change")
    assert "via polling fallback" in card_text(page, order["id"])
    assert connection(page) == "polling"
    assert_not_reloaded(page)
    assert console_errors(page) == []


def test_pages_say_which_transport_carries_the_changes(server, browsers):
    admin = browsers.new()
    open_page(admin, server, "admin", server.token("ops", "admin"))
    wait_for(admin, lambda d: transport(d) == "websocket", 10, f"transport {transport(admin)!r}")
    assert transport_note(admin) == "via WebSocket"
    track = browsers.new(390, 844)
    open_page(track, server, "track", server.token(unique("note"), "user"), transport="sse")
    wait_for(track, lambda d: transport(d) == "sse", 10, f"transport {transport(track)!r}")
    assert transport_note(track) == "via Server-Sent Events"


# --- (e) restart: the pages come back and catch up ------------------------------------------


def test_pages_reconnect_after_restart_and_show_order_created_meanwhile(own_server, browsers):
    srv = own_server
    customer = unique("cust")
    before = srv.create_order(customer)
    admin = browsers.new()
    open_page(admin, srv, "admin", srv.token(unique("ops"), "admin"))
    track = browsers.new(390, 844)
    open_page(track, srv, "track", srv.token(customer, "user"))
    assert admin_row(admin, before["id"]) and track_card(track, before["id"])

    assert srv.stop() == 0, f"SIGTERM must end the server with status 0:\n{srv.log()}"
    for page in (admin, track):
        wait_connection(page, {"reconnecting", "offline", "polling"}, timeout=10)
        # The person is told, not only the badge.
        wait_for(page, lambda d: banner_text(d, "connection"), 10, "no banner says the server is gone")
        assert "cannot reach the server" in banner_text(page, "connection").lower()

    # A change tried meanwhile is refused on the form, visibly.
    admin_row(admin, before["id"]).click()
    admin.find_element(By.CSS_SELECTOR, "#form-status button[type=submit]").click()
    message = admin.find_element(By.CSS_SELECTOR, "#form-status .form-msg")
    wait_for(admin, lambda d: "form-msg-error" in message.get_attribute("class"), 5, "the form did not say it failed")
    assert message.text.startswith("Not saved."), message.text

    srv.start()
    created = srv.create_order(customer, name="Created while away")
    for page, find in ((admin, admin_row), (track, track_card)):
        wait_for(page, lambda d, find=find: find(d, created["id"]), RECONNECT_DEADLINE_S,
                 f"order created during the outage not shown within {RECONNECT_DEADLINE_S} s")
        wait_connection(page, {"live"}, timeout=RECONNECT_DEADLINE_S)
        assert_not_reloaded(page)

    # And the pages are live again, not just caught up.
    srv.update_tracking(created["id"], {"status": "confirmed"})
    wait_for(track, lambda d: card_status(d, created["id"]) == "confirmed", LIVE_DEADLINE_S, "not live after restart")
    wait_for(admin, lambda d: (row_state(d, created["id"]) or {}).get("status") == "confirmed",
             LIVE_DEADLINE_S, "admin not live after restart")
    assert admin_row(admin, before["id"]) is not None, "orders from before the restart stay"
    for page in (admin, track):
        assert banner_text(page, "connection") is None, "the outage banner goes once the page is live again"


# --- The client library and token handling --------------------------------------------------


def mint_token(server: Server, claims: dict) -> str:
    """HS256 with the server's own secret and any claims, for tokens `orderpush token` will not make."""
    import base64
    import hashlib
    import hmac

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    key = server.secret.read_bytes().rstrip(b"\n")
    signature = b64(hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def mint_expired_token(server: Server, sub: str, role: str) -> str:
    """Expired well past the 60 s leeway."""
    return mint_token(server, {"sub": sub, "role": role, "exp": int(time.time()) - 3600})


def banner_text(driver, key: str) -> str | None:
    """The text of the visible banner with this key, or None."""
    found = [b for b in driver.find_elements(By.CSS_SELECTOR, f'.banner[data-banner="{key}"]') if b.is_displayed()]
    return found[0].text if found else None


def open_without_live(driver, server: Server, path: str) -> None:
    driver.get(f"{server.base}{path}")
    wait_for(driver, lambda d: d.find_element(By.ID, "loading").get_attribute("hidden") is not None, 10,
             f"{path} still says it is loading")


def test_expired_token_shows_a_visible_error_on_both_pages(server, browsers):
    for page in ("admin", "track"):
        driver = browsers.new()
        driver.get(f"{server.base}/{page}?token={mint_expired_token(server, unique('someone'), 'admin')}")
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '.banner[data-banner="auth"]'), 10,
                 f"no auth error banner on /{page}")
        banner = driver.find_element(By.CSS_SELECTOR, '.banner[data-banner="auth"]')
        assert banner.is_displayed()
        assert "expired or invalid" in banner.text.lower()
        assert connection(driver) == "offline"
        assert "token=" not in driver.current_url


def test_page_without_token_says_how_to_get_one(server, browsers):
    driver = browsers.new(390, 844)
    for page, role in (("admin", "admin"), ("track", "user")):
        open_without_live(driver, server, f"/{page}")
        text = banner_text(driver, "auth")
        assert text and text.startswith("No token."), f"/{page}: {text!r}"
        assert f"/{page}?token=" in text and f"--role {role}" in text
        assert connection(driver) == "offline"
        assert console_errors(driver) == []


def test_track_token_without_sub_is_refused_on_the_page(server, browsers):
    driver = browsers.new()
    token = mint_token(server, {"role": "user", "exp": int(time.time()) + 600})
    open_without_live(driver, server, f"/track?token={token}")
    assert 'no readable "sub" claim' in (banner_text(driver, "auth") or "")
    assert connection(driver) == "offline"
    assert driver.find_elements(By.CSS_SELECTOR, "article.order-card") == []


def test_admin_page_with_user_token_warns_and_shows_only_own_orders(server, browsers):
    customer = unique("cust")
    own = server.create_order(customer)
    other = server.create_order(unique("cust"))
    driver = browsers.new()
    open_page(driver, server, "admin", server.token(customer, "user"))
    assert 'role "user"' in (banner_text(driver, "role") or "")
    assert admin_row(driver, own["id"]) is not None
    assert admin_row(driver, other["id"]) is None
    # It follows the channel the token may follow, so its own orders stay live.
    server.update_tracking(own["id"], {"status": "packed"})
    wait_for(driver, lambda d: (row_state(d, own["id"]) or {}).get("status") == "packed", LIVE_DEADLINE_S,
             "the user's own order did not update live")
    assert banner_text(driver, "client-forbidden") is None
    assert console_errors(driver) == []


def run_client(driver, server: Server, script: str, timeout: float = 10):
    """Runs `script` in the page with `m` = the orderpush.js module and `done` = the callback."""
    driver.set_script_timeout(timeout)
    if not driver.current_url.startswith(server.base):
        driver.get(f"{server.base}/")
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/orderpush.js').then(async (m) => {" + script + "}).catch((e) => done('error: ' + e));")


def test_client_rejects_expired_token_with_clear_error(server, browsers):
    driver = browsers.new()
    token = mint_expired_token(server, unique("someone"), "admin")
    code, message, state = run_client(driver, server, f"""
        const c = m.connect({{ token: {json.dumps(token)},
          onError: (e) => setTimeout(() => done([e.code, e.message, c.state]), 0) }});
        c.subscribe('admin', () => {{}});""", timeout=20)
    assert (code, message, state) == ("unauthorized", "token expired or invalid", "closed")


def test_client_replays_from_since_in_order_and_resumes_from_last_seq(server, browsers):
    customer = unique("cust")
    first = server.api("POST", "/api/orders", {
        "userId": customer, "paymentMethod": "cod",
        "items": [{"productId": "p1", "name": "Tea", "quantity": 1, "price": 10.0}]})[1]
    order_id = first["order"]["id"]
    seqs = [first["seq"]]
    for status in ("confirmed", "packed"):
        seqs.append(server.api("PUT", f"/api/orders/{order_id}/tracking", {"status": status})[1]["seq"])

    driver = browsers.new()
    token = server.token(customer, "user")
    got = run_client(driver, server, f"""
        const c = m.connect({{ token: {json.dumps(token)} }});
        const seen = [];
        c.subscribe({json.dumps('user:' + customer)}, (ev) => {{
          seen.push([ev.seq, ev.event, ev.channel, ev.order.tracking?.status ?? ev.order.status]);
          if (seen.length === 3) setTimeout(() => done({{ seen, last: c.lastSeq({json.dumps('user:' + customer)}), state: c.state }}), 300);
        }}, {{ since: {seqs[0] - 1} }});""")
    assert [s[0] for s in got["seen"]] == seqs
    assert [s[1] for s in got["seen"]] == ["order.created", "tracking.updated", "tracking.updated"]
    assert {s[2] for s in got["seen"]} == {f"user:{customer}"}
    assert [s[3] for s in got["seen"]] == ["placed", "confirmed", "packed"]
    assert got["last"] == seqs[-1]
    assert got["state"] == "live"


def test_admin_user_channel_subscription_keeps_working_while_polling(server, browsers):
    customer, stranger = unique("cust"), unique("other")
    order = {"paymentMethod": "cod", "items": [{"productId": "p1", "name": "Tea", "quantity": 1, "price": 10.0}]}
    before = server.api("POST", "/api/orders", {**order, "userId": stranger})[1]["seq"]
    mine = server.api("POST", "/api/orders", {**order, "userId": customer})[1]
    server.api("POST", "/api/orders", {**order, "userId": stranger})
    tracked = server.api("PUT", f"/api/orders/{mine['order']['id']}/tracking", {"status": "packed"})[1]

    driver = browsers.new()
    token = server.token(unique("ops"), "admin")
    channel = json.dumps("user:" + customer)
    got = run_client(driver, server, f"""
        const c = m.connect({{ token: {json.dumps(token)}, transport: 'polling' }});
        const seen = [];
        c.subscribe({channel}, (ev) => {{
          seen.push([ev.seq, ev.channel, ev.order.userId]);
          if (seen.length === 2) setTimeout(() => done({{ seen, state: c.state }}), 300);
        }}, {{ since: {before} }});""", timeout=20)
    assert got["seen"] == [[mine["seq"], f"user:{customer}", customer], [tracked["seq"], f"user:{customer}", customer]]
    assert got["state"] == "polling"


def test_client_asks_page_to_resync_when_cursor_is_from_another_history(server, browsers):
    driver = browsers.new()
    token = server.token(unique("ops"), "admin")
    got = run_client(driver, server, f"""
        const c = m.connect({{ token: {json.dumps(token)} }});
        c.subscribe('admin', () => done('event from another history'), {{
          since: 1, epoch: 'not-this-database',
          onResync: (channel) => done([channel, c.lastSeq(channel)]) }});""")
    assert got == ["admin", None]


def test_client_over_server_sent_events_replays_from_since_and_reports_its_transport(server, browsers):
    customer = unique("sse")
    first = server.api("POST", "/api/orders", {
        "userId": customer, "paymentMethod": "cod",
        "items": [{"productId": "p1", "name": "Tea", "quantity": 1, "price": 10.0}]})[1]
    order_id = first["order"]["id"]
    seqs = [first["seq"]]
    for status in ("confirmed", "packed"):
        seqs.append(server.api("PUT", f"/api/orders/{order_id}/tracking", {"status": status})[1]["seq"])

    driver = browsers.new()
    token = server.token(customer, "user")
    channel = json.dumps("user:" + customer)
    got = run_client(driver, server, f"""
        const transports = [];
        const c = m.connect({{ token: {json.dumps(token)}, transport: 'sse', onTransport: (t) => transports.push(t) }});
        const seen = [];
        c.subscribe({channel}, (ev) => {{
          seen.push([ev.seq, ev.event, ev.channel]);
          if (seen.length === 3) setTimeout(() => {{
            const live = {{ seen, last: c.lastSeq({channel}), state: c.state, transport: c.transport }};
            c.close();
            done({{ ...live, transports, after: c.transport }});
          }}, 300);
        }}, {{ since: {seqs[0] - 1} }});""")
    assert [s[0] for s in got["seen"]] == seqs
    assert [s[1] for s in got["seen"]] == ["order.created", "tracking.updated", "tracking.updated"]
    assert {s[2] for s in got["seen"]} == {f"user:{customer}"}
    assert got["last"] == seqs[-1]
    assert (got["state"], got["transport"]) == ("live", "sse")
    assert got["transports"] == ["sse", None]
    assert got["after"] is None


def test_client_over_server_sent_events_asks_page_to_resync_for_another_history(server, browsers):
    driver = browsers.new()
    token = server.token(unique("ops"), "admin")
    got = run_client(driver, server, f"""
        const c = m.connect({{ token: {json.dumps(token)}, transport: 'sse' }});
        c.subscribe('admin', () => done('event from another history'), {{
          since: 1, epoch: 'not-this-database',
          onResync: (channel) => done([channel, c.lastSeq(channel), c.transport]) }});""")
    assert got == ["admin", None, "sse"]
