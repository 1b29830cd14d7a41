#!/usr/bin/env python3
"""Slow readers: N WebSocket subscribers that never read, server memory over time.

--subscribers (default 200) clients open /ws with a small receive buffer, subscribe to
`admin` and then never read again. A writer creates orders with a 1000-character note
for --seconds. Every second the probe samples the server's RSS (/proc/<pid>/status) and
/metrics (websockets open, slow consumers closed). Expected: RSS stays bounded (the
per-connection output cap, --max-output-bytes, closes a subscriber that falls too far
behind with 1013; live events are framed once and shared), the server keeps answering
/healthz, and a reading subscriber opened alongside gets every event.

--replay adds a backlog first (--backlog orders) and has the silent subscribers send
`since=0`: the replay case of issue 8 (each replay frames its own copy). --rss-cap-mb
stops the probe early (and says so) if the server passes that much, so it cannot take
the machine down.

  scripts/faults/slow_readers.py [--subscribers 200] [--seconds 20] [--items 300] [--replay --backlog 20000]

--items makes each event bigger, so that silent subscribers reach the per-connection cap
within the run.

The writer uses an admin token naming a user (user tokens are rate limited).
Loopback only, bounded in time; prints a table of samples and a summary line.
"""
import argparse
import json
import threading
import time

from probe_support import Server, call, log, order_body, websocket, ws_read_frame, ws_send_text


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--subscribers", type=int, default=200)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--replay", action="store_true")
    p.add_argument("--backlog", type=int, default=20000)
    p.add_argument("--rss-cap-mb", type=int, default=1500)
    p.add_argument("--max-output-bytes", type=int, default=None,
                   help="the server's per-connection output cap (its default is 8 MiB)")
    p.add_argument("--items", type=int, default=1, help="items per order (300 makes ~25 KB events)")
    a = p.parse_args()

    server = Server(extra_args=["--max-output-bytes", str(a.max_output_bytes)] if a.max_output_bytes else []).start()
    admin = server.token("probe-admin", "admin")
    user = server.token("probe-user", "user")
    log(f"server pid {server.pid} port {server.port}; RSS at start {server.rss_kb() // 1024} MB")
    conn = server.http()
    note = "x" * 1000
    if a.replay:
        for _ in range(a.backlog):
            call(conn, "POST", "/api/orders", admin, order_body(note=note, items=a.items, user_id="probe-user"))
        log(f"backlog of {a.backlog} orders; RSS {server.rss_kb() // 1024} MB")

    silent = []
    for _ in range(a.subscribers):
        s = websocket(server.port, admin, recv_buffer=4096)
        ws_send_text(s, json.dumps({"type": "subscribe", "channel": "admin", **({"since": 0} if a.replay else {})}))
        silent.append(s)
    log(f"{len(silent)} silent subscribers on `admin`; RSS {server.rss_kb() // 1024} MB")

    # One subscriber that reads everything, to show delivery continues for good clients.
    reader = websocket(server.port, admin)
    ws_send_text(reader, json.dumps({"type": "subscribe", "channel": "admin"}))
    received, stop = [], threading.Event()

    def read_all():
        reader.settimeout(2)
        while not stop.is_set():
            try:
                frame = ws_read_frame(reader)
            except OSError:
                continue
            if frame is None:
                return
            if frame[0] == 1:
                m = json.loads(frame[1])
                if m.get("type") == "event":
                    received.append(m["seq"])
    threading.Thread(target=read_all, daemon=True).start()

    conn.close()
    conn = server.http()  # the backlog connection may have hit the idle keep-alive deadline
    created, samples, peak = [], [], 0
    start = time.time()
    next_sample = start
    capped = False
    while time.time() - start < a.seconds:
        try:
            status, body = call(conn, "POST", "/api/orders", admin, order_body(note=note, items=a.items, user_id="probe-user"))
        except OSError as e:
            log(f"writer: {type(e).__name__}; reconnecting")
            conn.close()
            conn = server.http()
            status = None
        if status == 201:
            created.append(body["seq"])
        if time.time() >= next_sample:
            rss = server.rss_kb() // 1024
            m = server.metrics()
            samples.append((round(time.time() - start), rss, int(m.get("orderpush_websockets", -1)),
                            int(m.get("orderpush_slow_consumers_closed_total", -1)), len(created)))
            peak = max(peak, rss)
            next_sample += 1
            if rss > a.rss_cap_mb:
                capped = True
                log(f"RSS {rss} MB passed --rss-cap-mb {a.rss_cap_mb}: stopping early")
                break
    time.sleep(2)
    stop.set()
    health = server.healthz()
    print("t(s)  RSS(MB)  websockets  slow_closed  orders_created")
    for t, rss, ws, closed, n in samples:
        print(f"{t:4d}  {rss:7d}  {ws:10d}  {closed:11d}  {n:14d}")
    missed = sorted(set(created) - set(received))
    log(f"SUMMARY: {a.subscribers} silent subscribers{' replaying since=0' if a.replay else ''}, "
        f"{len(created)} orders created in {samples[-1][0] if samples else 0}s, peak RSS {peak} MB, "
        f"final RSS {server.rss_kb() // 1024} MB, slow consumers closed {samples[-1][3] if samples else '?'}, "
        f"/healthz {health}, reading subscriber missed {len(missed)} of {len(created)} events"
        + (" (stopped early at the RSS cap)" if capped else ""))
    for s in silent:
        s.close()
    status = server.stop()
    log(f"SIGTERM exit status {status}")
    return 1 if missed or health != 200 else 0


if __name__ == "__main__":
    raise SystemExit(main())
