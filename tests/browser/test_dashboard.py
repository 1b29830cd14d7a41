"""Browser tests of the admin dashboard's filters, search, paging and background alerts,
the customer's paged /track page, and the shop's acceptance list over push (issue 13).

Same setup as test_pages.py (real binary, headless Chromium). Waits are generous and
nothing is timed: a check passes as soon as the page shows what it should.
"""

from __future__ import annotations

import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from harness import BIN, CHROME, CHROMEDRIVER, Server
from test_pages import (admin_row, assert_not_reloaded, browsers, card_state, card_status, card_text,  # noqa: F401
                        console_errors, open_page, row_state, track_card, wait_for)

WAIT_S = 10.0

pytestmark = [
    pytest.mark.skipif(not BIN.exists(), reason=f"server binary not built: {BIN} (set ORDERPUSH_BIN)"),
    pytest.mark.skipif(not CHROME or not CHROMEDRIVER, reason="chromium and chromedriver are needed (apt-get install chromium chromium-driver)"),
]


@pytest.fixture
def shop(tmp_path):
    """A server of the test's own, so counts and pages hold only the test's orders."""
    srv = Server(tmp_path)
    srv.start()
    yield srv
    srv.kill()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def shown_ids(driver) -> list[str]:
    return driver.execute_script("return [...document.querySelectorAll('#order-rows tr')].map((r) => r.dataset.orderId)")


def card_ids(driver) -> list[str]:
    return driver.execute_script("return [...document.querySelectorAll('article.order-card')].map((c) => c.dataset.orderId)")


def tab_counts(driver) -> dict[str, int]:
    return driver.execute_script("""
        const counts = {};
        for (const tab of document.querySelectorAll('#status-tabs .status-tab')) {
          const c = tab.querySelector('.tab-count');
          if (c) counts[tab.dataset.status] = Number(c.dataset.count);
        }
        return counts;""")


def click_tab(driver, status: str):
    driver.find_element(By.CSS_SELECTOR, f'#status-tabs .status-tab[data-status="{status}"]').click()


def search(driver, text: str):
    box = driver.find_element(By.ID, "search-input")
    box.clear()
    box.send_keys(text, Keys.ENTER)


def wait_ids(driver, expected: list[str], message: str):
    wait_for(driver, lambda d: shown_ids(d) == expected, WAIT_S, f"{message}: shown {shown_ids(driver)}, wanted {expected}")


# --- Status tabs with live counts -----------------------------------------------------------


def test_status_tabs_filter_the_table_and_counts_follow_events(shop, browsers):
    customer = unique("cust")
    a = shop.create_order(customer, name="Masala Tea")
    b = shop.create_order(customer, name="Green Tea")
    c = shop.create_order(customer, name="Filter Coffee")
    shop.update_tracking(b["id"], {"status": "shipped"})

    admin = browsers.new()
    open_page(admin, shop, "admin", shop.token(unique("ops"), "admin"))
    wait_ids(admin, [c["id"], b["id"], a["id"]], "all orders, newest first")
    counts = tab_counts(admin)
    assert counts["all"] == 3 and counts["placed"] == 2 and counts["shipped"] == 1 and counts["delivered"] == 0

    click_tab(admin, "shipped")
    wait_ids(admin, [b["id"]], "the shipped tab")
    assert admin.find_element(By.CSS_SELECTOR, '.status-tab[data-status="shipped"]').get_attribute("aria-pressed") == "true"

    # A new order does not match the tab: not shown, but counted.
    d = shop.create_order(customer, name="Lassi")
    wait_for(admin, lambda dr: tab_counts(dr)["placed"] == 3 and tab_counts(dr)["all"] == 4, WAIT_S, "new order not counted")
    assert shown_ids(admin) == [b["id"]]
    # An order that starts to match takes its place by creation; one that stops matching leaves.
    shop.update_tracking(c["id"], {"status": "shipped"})
    wait_ids(admin, [c["id"], b["id"]], "an order that became shipped")
    shop.update_tracking(b["id"], {"status": "delivered"})
    wait_ids(admin, [c["id"]], "an order that stopped being shipped")
    wait_for(admin, lambda dr: tab_counts(dr) == {"all": 4, "placed": 2, "confirmed": 0, "packed": 0, "shipped": 1,
                                                    "out_for_delivery": 0, "delivered": 1, "cancelled": 0},
             WAIT_S, f"counts after the changes: {tab_counts(admin)}")

    click_tab(admin, "all")
    wait_ids(admin, [d["id"], c["id"], b["id"], a["id"]], "back on all")
    # After a refresh the counts are the server's, and equal.
    admin.refresh()
    wait_for(admin, lambda dr: tab_counts(dr).get("all") == 4 and tab_counts(dr)["delivered"] == 1, WAIT_S,
             "counts after a refresh")
    assert console_errors(admin) == []


# --- Search ---------------------------------------------------------------------------------


def test_search_box_finds_by_item_customer_and_id_prefix_and_stays_live(shop, browsers):
    alice, bob = unique("alice"), unique("bob")
    chai = shop.create_order(alice, name="Masala Chai")
    coffee = shop.create_order(bob, name="Filter Coffee")
    other = shop.create_order(bob, name="Mango Lassi")

    admin = browsers.new()
    open_page(admin, shop, "admin", shop.token(unique("ops"), "admin"))
    wait_ids(admin, [other["id"], coffee["id"], chai["id"]], "all orders")

    search(admin, "chai")
    wait_ids(admin, [chai["id"]], "search by item word")
    search(admin, bob)
    wait_ids(admin, [other["id"], coffee["id"]], "search by customer id")
    search(admin, coffee["id"][:10])
    wait_for(admin, lambda d: coffee["id"] in shown_ids(d) and chai["id"] not in shown_ids(d) or shown_ids(d) == [coffee["id"]],
             WAIT_S, "search by id prefix")
    search(admin, coffee["id"])
    wait_ids(admin, [coffee["id"]], "search by whole id")

    # Live while searching: a new matching order comes in at the top, others stay out.
    search(admin, "coffee")
    wait_ids(admin, [coffee["id"]], "search coffee")
    newer = shop.create_order(alice, name="Cold Coffee")
    shop.create_order(alice, name="Plain Water")
    wait_ids(admin, [newer["id"], coffee["id"]], "a new matching order")
    search(admin, "")
    wait_for(admin, lambda d: len(shown_ids(d)) == 5, WAIT_S, "cleared search shows everything")
    assert console_errors(admin) == []


# --- Any number of orders -------------------------------------------------------------------


def test_order_beyond_the_first_thousand_is_found_by_search_and_by_paging(shop, browsers):
    first = shop.create_order(unique("first"), name="Oldest Samosa")
    for i in range(1050):
        shop.create_order(f"bulk-{i % 20}", name="Bulk Tea")

    admin = browsers.new()
    open_page(admin, shop, "admin", shop.token(unique("ops"), "admin"))
    wait_for(admin, lambda d: len(shown_ids(d)) == 50, WAIT_S, "first page")
    assert tab_counts(admin)["all"] == 1051

    search(admin, first["id"])
    wait_ids(admin, [first["id"]], "the oldest order by id")
    search(admin, "samosa")
    wait_ids(admin, [first["id"]], "the oldest order by item")
    search(admin, "")
    wait_for(admin, lambda d: len(shown_ids(d)) == 50, WAIT_S, "first page again")

    # Paging: "Show older orders" until the oldest is there; every order once.
    button = admin.find_element(By.ID, "load-older")
    pages = 1
    while admin_row(admin, first["id"]) is None:
        wait_for(admin, lambda d: d.find_element(By.ID, "load-older").is_enabled(), WAIT_S, "paging stuck")
        before = len(shown_ids(admin))
        button.click()
        wait_for(admin, lambda d: len(shown_ids(d)) > before, WAIT_S, f"page {pages + 1} did not load")
        pages += 1
        assert pages <= 30, "more pages than orders"
    ids = shown_ids(admin)
    assert len(ids) == 1051 and len(set(ids)) == 1051
    assert ids[-1] == first["id"]
    wait_for(admin, lambda d: not d.find_element(By.ID, "load-older").is_displayed(), WAIT_S,
             "the button should go once the oldest order is shown")
    assert console_errors(admin) == []


# --- New orders while the tab is in the background ------------------------------------------

# Records notifications and permission requests, and lets the test hide the tab
# (headless Chromium has no other window to switch to).
INSTRUMENT = """
window.__test = { notifications: [], permissionRequests: 0, hidden: false };
if ('Notification' in window) {
  const Real = window.Notification;
  class Recorded extends Real {
    constructor(title, options) {
      window.__test.notifications.push({ title, body: options?.body ?? '', tag: options?.tag ?? '' });
      super(title, options);
    }
  }
  Recorded.requestPermission = (...args) => { window.__test.permissionRequests += 1; return Real.requestPermission(...args); };
  window.Notification = Recorded;
}
Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get() { return window.__test.hidden ? 'hidden' : 'visible'; } });
Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get() { return window.__test.hidden; } });
window.__setHidden = (hidden) => { window.__test.hidden = hidden; document.dispatchEvent(new Event('visibilitychange')); };
"""


def instrumented_admin(browsers, shop: Server, grant: bool):
    driver = browsers.new()
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": INSTRUMENT})
    if grant:
        driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": shop.base, "permissions": ["notifications"]})
    open_page(driver, shop, "admin", shop.token(unique("ops"), "admin"))
    return driver


def test_new_order_in_a_background_tab_notifies_counts_in_title_and_stays_marked(shop, browsers):
    admin = instrumented_admin(browsers, shop, grant=True)
    base_title = admin.title
    # Never asked on load; sound off by default.
    assert admin.execute_script("return window.__test.permissionRequests") == 0
    assert not admin.find_element(By.ID, "sound-toggle").is_selected()
    admin.find_element(By.ID, "notify-toggle").click()
    wait_for(admin, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-notifications") == "on", WAIT_S,
             "notifications not switched on")
    assert admin.execute_script("return window.__test.permissionRequests") <= 1

    # Visible: a new order appears, no notification, no title count.
    seen_order = shop.create_order(unique("cust"))
    wait_for(admin, lambda d: admin_row(d, seen_order["id"]) is not None, WAIT_S, "order while visible")
    assert admin.execute_script("return window.__test.notifications.length") == 0
    assert admin.title == base_title

    admin.execute_script("window.__setHidden(true)")
    one = shop.create_order(unique("cust"), name="Paneer Tikka")
    two = shop.create_order(unique("cust"), name="Veg Biryani")
    wait_for(admin, lambda d: d.title == f"(2) {base_title}", WAIT_S, f"title while hidden: {admin.title!r}")
    notes = admin.execute_script("return window.__test.notifications")
    assert [n["tag"] for n in notes] == [f"order-{one['id']}", f"order-{two['id']}"]
    assert all(n["title"] == "New order" for n in notes)
    assert one["userId"] in notes[0]["body"]
    for order in (one, two):
        assert "row-unseen" in admin_row(admin, order["id"]).get_attribute("class")
    assert "row-unseen" not in admin_row(admin, seen_order["id"]).get_attribute("class")

    # Back on the tab: the title count goes at once; the marks once looked at (a few seconds).
    admin.execute_script("window.__setHidden(false)")
    wait_for(admin, lambda d: d.title == base_title, WAIT_S, "title count not cleared")
    assert "row-unseen" in admin_row(admin, one["id"]).get_attribute("class")
    wait_for(admin, lambda d: "row-unseen" not in (admin_row(d, one["id"]).get_attribute("class") or ""), 20,
             "marks not cleared once seen")
    assert console_errors(admin) == []


def test_without_permission_the_title_still_counts_and_nothing_is_shown(shop, browsers):
    admin = instrumented_admin(browsers, shop, grant=False)
    base_title = admin.title
    admin.execute_script("window.__setHidden(true)")
    order = shop.create_order(unique("cust"))
    wait_for(admin, lambda d: d.title == f"(1) {base_title}", WAIT_S, "title count without permission")
    assert admin.execute_script("return window.__test.notifications.length") == 0
    assert admin.execute_script("return window.__test.permissionRequests") == 0
    assert "row-unseen" in admin_row(admin, order["id"]).get_attribute("class")


def test_row_highlight_has_no_fading_with_reduced_motion(shop, browsers):
    order = shop.create_order(unique("cust"))
    timing = "return getComputedStyle(document.querySelector('#order-rows tr.row-updated')).animationTimingFunction"
    for reduce, expected in ((False, {"ease-out"}), (True, {"steps(1)", "steps(1, end)"})):
        driver = browsers.new()
        if reduce:
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                   {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]})
        open_page(driver, shop, "admin", shop.token(unique("ops"), "admin"))
        wait_for(driver, lambda d: admin_row(d, order["id"]) is not None, WAIT_S, "row")
        # Hold the highlight class on the row, as an update does, and read its animation.
        driver.execute_script("const r = document.querySelector('#order-rows tr'); r.classList.add('row-updated');"
                              "r.getAnimations().forEach((a) => a.pause());")
        assert driver.execute_script(timing) in expected


# --- The customer's page ----------------------------------------------------------------------


def test_track_page_pages_older_orders_and_marks_a_status_change(shop, browsers):
    customer = unique("cust")
    service = shop.token("shop", "service")
    orders = [shop.post_order({"userId": customer, "paymentMethod": "cod",
                               "items": [{"productId": "p", "name": f"Thali {i}", "quantity": 1, "price": 99}]}, service)
              for i in range(55)]
    newest_first = [o["id"] for o in reversed(orders)]
    page = browsers.new(390, 844)
    open_page(page, shop, "track", shop.token(customer, "user"))
    wait_for(page, lambda d: card_ids(d) == newest_first[:50], WAIT_S, "the newest 50 first")
    page.find_element(By.ID, "load-older").click()
    wait_for(page, lambda d: card_ids(d) == newest_first, WAIT_S, "older orders after the button")
    wait_for(page, lambda d: not d.find_element(By.ID, "load-older").is_displayed(), WAIT_S, "no more pages")

    target = orders[3]["id"]
    assert card_state(page, target) is not None
    shop.update_tracking(target, {"location": {"lat": 12.9, "lng": 77.6}})
    wait_for(page, lambda d: "12.90000" in card_text(d, target), WAIT_S, "location update")
    assert page.execute_script("return [...document.querySelectorAll('article.order-card')].find((c) => c.dataset.orderId === arguments[0]).dataset.statusChanged ?? null", target) is None
    shop.update_tracking(target, {"status": "packed"})
    wait_for(page, lambda d: card_status(d, target) == "packed", WAIT_S, "status change")
    wait_for(page, lambda d: "Status updated" in card_text(d, target), WAIT_S, "status change not marked")
    assert console_errors(page) == []


# --- The shop's acceptance list, over push ------------------------------------------------------


def test_acceptance_list_over_push(shop, browsers):
    customer = unique("cust")
    admin = browsers.new()
    open_page(admin, shop, "admin", shop.token(unique("ops"), "admin"), transport="websocket")
    track = browsers.new(390, 844)
    open_page(track, shop, "track", shop.token(customer, "user"), transport="websocket")

    # A new order appears on the open admin page (and the customer's).
    order = shop.post_order({"paymentMethod": "cod", "items": [{"productId": "p", "name": "Masala Dosa", "quantity": 2, "price": 80}]},
                            shop.token(customer, "user"))
    wait_for(admin, lambda d: admin_row(d, order["id"]) is not None, WAIT_S, "new order on the admin page")
    wait_for(track, lambda d: track_card(d, order["id"]) is not None, WAIT_S, "new order on the customer's page")

    # Status, location and delivery partner set by the admin on the admin page.
    admin_row(admin, order["id"]).click()
    wait_for(admin, lambda d: d.find_element(By.ID, "detail").is_displayed(), WAIT_S, "detail pane")

    def submit(form_id: str):
        admin.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]").click()
        message = admin.find_element(By.CSS_SELECTOR, f"#{form_id} .form-msg")
        wait_for(admin, lambda d: "form-msg-ok" in message.get_attribute("class"), WAIT_S, f"{form_id} not saved: {message.text}")

    Select(admin.find_element(By.ID, "status-select")).select_by_value("shipped")
    submit("form-status")
    wait_for(track, lambda d: card_status(d, order["id"]) == "shipped", WAIT_S, "status on the customer's page")
    lat, lng = admin.find_element(By.ID, "location-lat"), admin.find_element(By.ID, "location-lng")
    lat.clear(); lat.send_keys("12.97160")
    lng.clear(); lng.send_keys("77.59460")
    submit("form-location")
    wait_for(track, lambda d: "12.97160, 77.59460" in card_text(d, order["id"]), WAIT_S, "location on the customer's page")
    admin.find_element(By.ID, "partner-name").send_keys("Asha")
    admin.find_element(By.ID, "partner-phone").send_keys("+91 90000 11111")
    submit("form-partner")
    wait_for(track, lambda d: "Asha" in card_text(d, order["id"]), WAIT_S, "partner on the customer's page")

    # Several orders in quick succession all appear on both pages, in order.
    burst = [shop.create_order(customer, name=f"Idli {i}") for i in range(6)]
    expected = [o["id"] for o in reversed(burst)] + [order["id"]]
    wait_for(admin, lambda d: shown_ids(d)[:7] == expected, WAIT_S, "burst on the admin page")
    wait_for(track, lambda d: card_ids(d) == expected, WAIT_S, "burst on the customer's page")
    for driver in (admin, track):
        assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-connection") == "live"
        assert_not_reloaded(driver)

    # After a refresh everything is still there.
    for driver in (admin, track):
        driver.refresh()
    wait_for(admin, lambda d: shown_ids(d)[:7] == expected, WAIT_S, "admin after refresh")
    wait_for(track, lambda d: card_ids(d) == expected, WAIT_S, "customer's page after refresh")
    state = card_state(track, order["id"])
    assert state["status"] == "shipped" and "Asha" in state["text"] and "12.97160, 77.59460" in state["text"]
    row = row_state(admin, order["id"])
    assert row["status"] == "shipped" and "Asha" in row["text"]
    for driver in (admin, track):
        assert console_errors(driver) == []
