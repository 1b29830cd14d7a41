#!/usr/bin/env python3
"""kill -9 under concurrent writers: no acknowledged order may be lost.

Each round: 8 (--writers) threads create orders as fast as the server answers, each on
its own keep-alive connection, and record every 201 (order id and seq). They use a
`service` token naming a user per writer (`userId`), because user tokens are rate
limited (`--user-write-rate`) and the point here is to write as fast as possible. After
--write-seconds the server gets SIGKILL while they are still writing. It is restarted on
the same database, and then:
  - every acknowledged order is read back (GET /api/orders/{id} as admin) and must be there,
    with the userId that created it;
  - the event log (GET /api/orders?since=0, every page) must have consecutive seqs (no gap),
    and every acknowledged seq must be the event of the acknowledged order.
Requests cut off by the kill are counted, not checked: the server never answered them.

  scripts/faults/kill9_writers.py [--rounds 3] [--writers 8] [--write-seconds 8]

Loopback only; bounded (each round ends by itself); exits 1 on any lost or mismatched order.
"""
import argparse
import threading
import time

from probe_support import Server, call, log, order_body


def writer(server, token, acked, errors, stop, index):
    conn = server.http(timeout=10)
    while not stop.is_set():
        try:
            status, body = call(conn, "POST", "/api/orders", token,
                                order_body(note=f"w{index}", user_id=f"writer-{index}"))
        except Exception as e:  # the kill cuts the connection: stop this writer
            errors.append(type(e).__name__)
            return
        if status == 201:
            acked.append((body["order"]["id"], body["seq"], body["order"]["userId"]))
        else:
            errors.append(status)


def all_events(conn, token):
    events, cursor = [], 0
    while True:
        status, page = call(conn, "GET", f"/api/orders?since={cursor}&limit=500", token)
        if status != 200:
            raise RuntimeError(f"poll since={cursor}: {status} {page}")
        events += page["events"]
        if not page["events"] or page["cursor"] == cursor:
            return events
        cursor = page["cursor"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--writers", type=int, default=8)
    p.add_argument("--write-seconds", type=float, default=8)
    a = p.parse_args()

    server = Server().start()
    log(f"server pid {server.pid} port {server.port} data {server.data_dir}")
    service = server.token("probe-writer", "service")
    tokens = [service] * a.writers
    admin = server.token("probe-admin", "admin")
    all_acked, failed = [], False
    for rnd in range(1, a.rounds + 1):
        acked, errors, stop = [], [], threading.Event()
        threads = [threading.Thread(target=writer, args=(server, tokens[i], acked, errors, stop, i))
                   for i in range(a.writers)]
        for t in threads:
            t.start()
        time.sleep(a.write_seconds)
        server.kill9()  # while the writers are mid-request
        stop.set()
        for t in threads:
            t.join(15)
        all_acked += acked
        log(f"round {rnd}: killed with -9 after {a.write_seconds}s; {len(acked)} orders acknowledged "
            f"this round, {len(errors)} requests cut off ({sorted(set(map(str, errors)))})")
        server.start()
        conn = server.http(timeout=30)
        missing = []
        for order_id, seq, user in all_acked:
            status, body = call(conn, "GET", f"/api/orders/{order_id}", admin)
            if status != 200 or body["order"]["userId"] != user:
                missing.append((order_id, status))
        events = all_events(conn, admin)
        seqs = [e["seq"] for e in events]
        gaps = [(x, y) for x, y in zip(seqs, seqs[1:]) if y != x + 1]
        by_seq = {e["seq"]: e for e in events}
        mismatched = [(oid, seq) for oid, seq, _ in all_acked
                      if seq not in by_seq or by_seq[seq]["order"]["id"] != oid]
        head = seqs[-1] if seqs else 0
        log(f"round {rnd} after restart: {len(all_acked)} acknowledged so far, {len(missing)} missing, "
            f"log seq {seqs[0] if seqs else '-'}..{head} ({len(seqs)} events), {len(gaps)} gaps, "
            f"{len(mismatched)} acknowledged seqs not matching their order, "
            f"{head - max((s for _, s, _ in all_acked), default=0)} committed but unacknowledged")
        if missing or gaps or mismatched:
            failed = True
            log(f"FAIL: missing {missing[:5]} gaps {gaps[:5]} mismatched {mismatched[:5]}")
        conn.close()
    status = server.stop()
    log(f"final SIGTERM exit status {status}")
    if failed:
        log(f"FAIL: {len(all_acked)} acknowledged orders over {a.rounds} kill -9 rounds, see above")
    else:
        log(f"PASS: {len(all_acked)} acknowledged orders over {a.rounds} kill -9 rounds, "
            "all present after restart, event log gap-free")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
