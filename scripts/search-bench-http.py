#!/usr/bin/env python3
"""Times GET /api/orders/search through the real server on a database filled by
scripts/search-bench-db.py: the whole path (HTTP parsed on a loop, the page read and
encoded on the search reader thread, the answer back through the loop's mailbox).

Usage: scripts/search-bench-http.py BINARY DB [PORT]
    e.g. scripts/search-bench-http.py .build/release/orderpush /tmp/sb/orders.sqlite

Sequential requests on one keep-alive connection, 200 per query; prints median and p99.
"""
import http.client
import json
import subprocess
import sys
import time

RUNS = 200


def main():
    binary, db = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 18777
    token = subprocess.run([binary, "token", "--sub", "bench", "--role", "admin", "--db", db],
                           capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    server = subprocess.Popen([binary, "serve", "--db", db, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port)
                probe.request("GET", "/healthz")
                probe.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def get(query):
            conn.request("GET", "/api/orders/search?" + query, headers={"Authorization": "Bearer " + token})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, (response.status, body[:200])
            return json.loads(body)

        newest = get("limit=1")["orders"][0]
        queries = [("newest 50", "limit=50"), ("status=delivered", "status=delivered"), ("q=chai", "q=chai"),
                   ("q=masala chai", "q=masala%20chai"), ("q=a customer id", "q=" + newest["userId"]),
                   ("q=an id prefix", "q=" + newest["id"][:8]), ("counts=1", "counts=1"), ("limit=200", "limit=200")]
        for name, query in queries:
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                get(query)
                times.append(time.perf_counter() - start)
            times.sort()
            print(f"  {name}: median {times[RUNS // 2] * 1e3:.2f} ms, p99 {times[RUNS * 99 // 100 - 1] * 1e3:.2f} ms")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
