#!/usr/bin/env python3
"""Fills an OrderPush database with N orders, for measuring a search page at scale.

The schema is the server's own: the file is created by starting the server once on it
(`orderpush serve --db PATH`), then rows are inserted here directly, in one transaction
(the schema's triggers keep the search index and the status counts, as for the server's
own writes). Then measure with:

    ORDERPUSH_SEARCH_DB=PATH swift test --filter SearchPageMeasurement

Usage: scripts/search-bench-db.py PATH [N] [--binary .build/debug/orderpush]
"""
import json, os, random, signal, sqlite3, subprocess, sys, time, urllib.request

STATUSES = ["placed", "confirmed", "packed", "shipped", "out_for_delivery", "delivered", "cancelled"]
WORDS = ["masala", "chai", "green", "tea", "filter", "coffee", "paneer", "tikka", "butter", "naan", "dal",
         "makhani", "veg", "biryani", "chicken", "mutton", "idli", "dosa", "vada", "sambar", "lassi", "mango",
         "rose", "kulfi", "gulab", "jamun", "samosa", "pakora", "aloo", "gobi", "palak", "rajma", "chole",
         "bhature", "poha", "upma", "thali", "raita", "pickle", "papad", "jeera", "rice", "roti", "kheer"]


def create_schema(path, binary):
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen([binary, "serve", "--db", path, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        sys.exit("the server did not start")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def main():
    args = [a for a in sys.argv[1:]]
    binary = ".build/debug/orderpush"
    if "--binary" in args:
        i = args.index("--binary")
        binary = args[i + 1]
        del args[i:i + 2]
    path = args[0]
    count = int(args[1]) if len(args) > 1 else 1_000_000
    if not os.path.exists(path):
        create_schema(path, binary)
    rng = random.Random(13)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    start_seq = db.execute("SELECT IFNULL(MAX(created_seq), 0) FROM orders").fetchone()[0]
    now = int(time.time() * 1000) - count * 1000
    db.execute("BEGIN")
    for n in range(count):
        seq = start_seq + n + 1
        order_id = "ord_%016x" % rng.getrandbits(64)
        items = [{"productId": "p%d" % rng.randrange(500),
                  "name": " ".join(rng.choice(WORDS).capitalize() for _ in range(rng.randint(1, 3))),
                  "quantity": rng.randint(1, 4), "price": rng.randrange(50, 900)} for _ in range(rng.randint(1, 3))]
        at = now + n * 1000
        db.execute("""INSERT INTO orders (id, user_id, status, payment_method, total, items, shipping_address, metadata,
                      created_at, updated_at, created_seq) VALUES (?, ?, ?, 'cod', ?, ?, 'null', 'null', ?, ?, ?)""",
                   (order_id, "u%d" % rng.randrange(50_000), rng.choice(STATUSES),
                    sum(i["quantity"] * i["price"] for i in items), json.dumps(items).encode(), at, at, seq))
        db.execute("INSERT INTO tracking_history (order_id, position, status, at) VALUES (?, 0, 'placed', ?)",
                   (order_id, at))
        if n % 100_000 == 99_999:
            print(f"{n + 1} orders", flush=True)
    db.execute("COMMIT")
    print(db.execute("SELECT count(*) FROM orders").fetchone()[0], "orders in", path)


if __name__ == "__main__":
    main()
