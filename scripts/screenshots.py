#!/usr/bin/env python3
"""Takes the README's screenshots of /admin and /track against the real server.

Starts orderpush (ORDERPUSH_BIN, default .build/debug/orderpush) on a free loopback
port with a database in a temporary folder, creates demo orders and tracking updates
through the HTTP API with a service token from `orderpush token`, and saves, from
headless Chromium:

    docs/screenshots/admin-desktop.png  admin-search.png  admin-phone.png  track-desktop.png  track-phone.png

Needs chromium, chromedriver and the Python package selenium (as tests/browser does).
Run from anywhere:

    swift build && python3 scripts/screenshots.py [--out DIR]
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from harness import BIN, CHROME, CHROMEDRIVER, Server, new_chrome  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DESKTOP = (1280, 800)
PHONE = (390, 844)
PHONE_SCALE = 2  # phones draw at 2x or more; 1x looks blurred next to them
MAX_PNG_BYTES = 400 * 1024
# Shown as a Bengaluru shop would see it, whatever the machine's settings.
TIMEZONE = "Asia/Kolkata"
LOCALE = "en-IN"

# The pages' motion (live badge, map pulse, highlights) would be caught mid-way.
STILL_CSS = "*, *::before, *::after { animation: none !important; transition: none !important; caret-color: transparent !important; }"

ADDRESSES = {
    "asha.rao": {"name": "Asha Rao", "line1": "14, 3rd Cross, HAL 2nd Stage", "area": "Indiranagar", "city": "Bengaluru", "pin": "560038"},
    "vikram.s": {"name": "Vikram Shetty", "line1": "22, 6th Main, 5th Block", "area": "Koramangala", "city": "Bengaluru", "pin": "560095"},
    "meera.iyer": {"name": "Meera Iyer", "line1": "9, 11th Cross, 4th T Block", "area": "Jayanagar", "city": "Bengaluru", "pin": "560041"},
}

HUB = {"lat": 12.9352, "lng": 77.6245}  # the shop's warehouse in Koramangala
RIDER = {"name": "Ravi Kumar", "phone": "+91 98450 12345"}
OTHER_RIDER = {"name": "Suresh Naik", "phone": "+91 99001 23456"}


def item(product_id: str, name: str, quantity: int, price: float) -> dict:
    return {"productId": product_id, "name": name, "quantity": quantity, "price": price}


class Demo:
    """Creates the demo orders through the API, a little apart so the timelines' times differ."""

    STEP_S = 1.1  # history times are shown to the second

    def __init__(self, server: Server):
        self.server = server
        self.token = server.token("shop", "service")

    def order(self, user: str, items: list[dict], payment: str, metadata: dict) -> str:
        order = self.server.post_order({
            "userId": user, "items": items, "paymentMethod": payment,
            "shippingAddress": ADDRESSES[user], "metadata": metadata,
        }, token=self.token)
        return order["id"]

    def track(self, order_id: str, *changes: dict, pause: float = STEP_S) -> None:
        for change in changes:
            time.sleep(pause)
            self.server.update_tracking(order_id, change, token=self.token)

    def create(self) -> str:
        """Creates everything, oldest first; returns the id of the order the screenshots feature."""
        quick = 0.2  # orders whose times are not in a screenshot's timeline

        earlier = self.order("asha.rao", [item("sku-1400", "Sona Masoori Rice 10 kg", 1, 729.0)], "cod", {"channel": "web"})
        self.track(earlier, {"status": "confirmed"}, {"status": "packed"},
                   {"status": "shipped", "location": HUB, "deliveryPartner": OTHER_RIDER},
                   {"status": "out_for_delivery", "location": {"lat": 12.9530, "lng": 77.6330}},
                   {"status": "delivered", "location": {"lat": 12.9716, "lng": 77.6411}, "note": "Handed to Asha"})

        self.order_delivered("vikram.s", [item("sku-3300", "Basmati Rice 5 kg", 1, 649.0)], "razorpay")
        self.order_delivered("meera.iyer", [
            item("sku-2001", "Ragi Flour 1 kg", 2, 78.0),
            item("sku-2040", "Cold-pressed Coconut Oil 1 L", 1, 289.0),
        ], "cod")

        cancelled = self.order("asha.rao", [item("sku-1021", "Alphonso Mangoes (dozen)", 1, 899.0)],
                               "razorpay", {"channel": "app"})
        self.track(cancelled, {"status": "confirmed", "note": "Payment received"},
                   {"status": "cancelled", "note": "Cancelled at the customer's request; refund started"})

        shipped = self.order("vikram.s", [
            item("sku-3310", "Toor Dal 1 kg", 2, 165.0),
            item("sku-3320", "Jaggery 1 kg", 1, 92.0),
        ], "razorpay", {"channel": "app", "coupon": "MONSOON10"})
        self.track(shipped, {"status": "confirmed"}, {"status": "packed"},
                   {"status": "shipped", "location": HUB, "deliveryPartner": OTHER_RIDER, "note": "Handed to the courier"},
                   pause=quick)

        featured = self.order("asha.rao", [
            item("sku-1101", "Filter Coffee Powder 500 g", 1, 325.0),
            item("sku-1150", "Mysore Pak 250 g", 2, 240.0),
            item("sku-1180", "Idli Rava 1 kg", 2, 89.0),
        ], "cod", {"channel": "web", "giftWrap": True})
        self.track(featured,
                   {"status": "confirmed", "note": "Seller accepted the order"},
                   {"status": "packed", "note": "Packed at the Koramangala warehouse"},
                   {"status": "shipped", "location": HUB, "deliveryPartner": RIDER},
                   {"status": "out_for_delivery", "location": {"lat": 12.9463, "lng": 77.6312}, "note": "Ravi is on the way"},
                   {"location": {"lat": 12.9571, "lng": 77.6376}},
                   {"location": {"lat": 12.9655, "lng": 77.6402}, "note": "About 10 minutes away"})

        packed = self.order("meera.iyer", [item("sku-2210", "Masala Chai 250 g", 3, 180.0)], "razorpay", {"channel": "app"})
        self.track(packed, {"status": "confirmed"}, {"status": "packed"}, pause=quick)

        confirmed = self.order("vikram.s", [
            item("sku-3405", "Groundnut Oil 1 L", 2, 210.0),
            item("sku-3410", "Urad Dal 500 g", 1, 86.0),
        ], "cod", {"channel": "web"})
        self.track(confirmed, {"status": "confirmed"}, pause=quick)

        self.order("meera.iyer", [item("sku-2300", "Curry Leaves (bunch)", 2, 15.0), item("sku-2301", "Coriander (bunch)", 1, 20.0)],
                   "cod", {"channel": "app"})
        self.order("vikram.s", [item("sku-3500", "Ghee 500 ml", 1, 345.0)], "razorpay", {"channel": "web"})
        return featured

    def order_delivered(self, user: str, items: list[dict], payment: str) -> None:
        order_id = self.order(user, items, payment, {"channel": "web"})
        self.track(order_id, {"status": "confirmed"}, {"status": "packed"},
                   {"status": "shipped", "location": HUB, "deliveryPartner": OTHER_RIDER},
                   {"status": "delivered", "location": {"lat": 12.9250, "lng": 77.5938}}, pause=0.2)


# --- Browser ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shot:
    file: str
    page: str  # "admin" or "track"
    phone: bool
    select_featured: bool = False  # open the featured order's detail pane
    down_to: str | None = None  # None: the viewport; else from the top to the end of this element
    status: str | None = None  # a status tab to select on the admin page
    search: str | None = None  # text to search for on the admin page
    rows: int | None = None  # how many rows the filter leaves (waited for)


SHOTS = [
    Shot("admin-desktop.png", "admin", phone=False, select_featured=True),
    # A status tab and a search: the delivered rice orders.
    Shot("admin-search.png", "admin", phone=False, status="delivered", search="rice", rows=2, down_to="main"),
    # On a phone the detail pane is a full-screen sheet over the list; the list is the page there.
    Shot("admin-phone.png", "admin", phone=True),
    Shot("track-desktop.png", "track", phone=False, down_to="main"),
    Shot("track-phone.png", "track", phone=True, down_to="article.order-card"),
]


def browser(size: tuple[int, int], scale: int = 1, mobile: bool = False):
    driver = new_chrome(*size)
    width, height = size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile})
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": TIMEZONE})
    driver.execute_cdp_cmd("Emulation.setLocaleOverride", {"locale": LOCALE})
    driver.execute_cdp_cmd("Emulation.setScrollbarsHidden", {"hidden": True})
    return driver


def wait(driver, condition, message: str, timeout: float = 10.0):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(d), message)


def open_live(driver, server: Server, page: str, token: str) -> None:
    driver.get(f"{server.base}/{page}?token={token}")
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-connection") == "live",
         f"/{page} never went live")
    wait(driver, lambda d: d.execute_script("return document.getElementById('loading').hidden"), f"/{page} never loaded")


def capture(driver, path: Path, down_to: str | None) -> None:
    """Saves a PNG with the page's motion stopped: the viewport, or with `down_to`
    (a CSS selector) the page from its top to the end of that element."""
    driver.execute_script(
        "const s = document.createElement('style'); s.textContent = arguments[0]; document.head.append(s);"
        "document.activeElement?.blur?.();", STILL_CSS)
    time.sleep(0.2)  # a frame or two for the style to apply
    params = {"format": "png"}
    if down_to:
        width, bottom = driver.execute_script(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
            "return [document.documentElement.clientWidth, Math.ceil(r.bottom + window.scrollY) + 16];", down_to)
        params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": width, "height": bottom, "scale": 1})
    data = driver.execute_cdp_cmd("Page.captureScreenshot", params)["data"]
    path.write_bytes(base64.b64decode(data))
    size = path.stat().st_size
    print(f"{path}: {size // 1024} KiB")
    if size > MAX_PNG_BYTES:
        raise SystemExit(f"{path} is over {MAX_PNG_BYTES // 1024} KiB; make the shot smaller")


def select_order(driver, order_id: str) -> None:
    """Opens the order's detail pane and scrolls it to the tracking history."""
    driver.execute_script(
        "[...document.querySelectorAll('#order-rows tr')].find((r) => r.dataset.orderId === arguments[0]).click()", order_id)
    wait(driver, lambda d: d.find_element(By.ID, "detail").is_displayed(), "the detail pane did not open")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#detail-more ol.history"), "no timeline in the detail pane")
    # The forms come first in the pane; show the last of them above the timeline.
    driver.execute_script(
        "const pane = document.getElementById('detail');"
        "pane.scrollTop = document.getElementById('form-partner').offsetTop - 70;")


def filter_orders(driver, status: str | None, search: str | None, rows: int | None) -> None:
    """Selects a status tab and searches, as the admin would, and waits for the table."""
    if status:
        driver.find_element(By.CSS_SELECTOR, f'#status-tabs .status-tab[data-status="{status}"]').click()
    if search:
        box = driver.find_element(By.ID, "search-input")
        box.send_keys(search)
        driver.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#order-rows tr")) == rows,
         f"the filter did not leave {rows} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots", help="folder for the PNGs")
    args = parser.parse_args()
    if not BIN.exists():
        raise SystemExit(f"server binary not built: {BIN} (swift build, or set ORDERPUSH_BIN)")
    if not CHROME or not CHROMEDRIVER:
        raise SystemExit("chromium and chromedriver are needed (apt-get install chromium chromium-driver)")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="orderpush-shots-") as folder:
        server = Server(Path(folder))
        server.start()
        drivers = []
        try:
            featured = Demo(server).create()
            tokens = {"admin": server.token("ops-lead", "admin"), "track": server.token("asha.rao", "user")}
            for shot in SHOTS:
                driver = browser(PHONE if shot.phone else DESKTOP, PHONE_SCALE if shot.phone else 1, shot.phone)
                drivers.append(driver)
                open_live(driver, server, shot.page, tokens[shot.page])
                if shot.select_featured:
                    select_order(driver, featured)
                if shot.status or shot.search:
                    filter_orders(driver, shot.status, shot.search, shot.rows)
                capture(driver, out / shot.file, shot.down_to)
        finally:
            for driver in drivers:
                driver.quit()
            server.kill()


if __name__ == "__main__":
    main()
