#!/usr/bin/env python3
"""Disk full (simulated with RLIMIT_FSIZE): writes get 503, nothing else breaks.

The server starts with a file-size limit (`prlimit --fsize`, soft limit only, so that it can be lifted again) just above the size of its
fresh database and WAL, so SQLite's writes soon fail with EFBIG the way they fail with
ENOSPC on a full disk (SIGXFSZ is ignored by the server, so the write fails instead of the
process dying). The probe then:
  1. creates orders until one is refused, and checks it is 503 `storage_unavailable`;
  2. checks that reads (GET /api/orders/{id}, polling), /healthz and a subscriber opened
     before the failure still work, and that the refused order left no event;
  3. lifts the limit on the running process (`prlimit --pid`), creates an order again
     (expected 201), and checks the subscriber receives its event with the next seq.

  scripts/faults/disk_full.py [--fsize-kb 2048]

Orders are written with an admin token naming a user: user tokens are rate limited.
Loopback only, bounded; exits 1 when an expectation fails. Needs util-linux `prlimit`.
"""
import argparse
import json
import subprocess
import time

from probe_support import Server, call, log, order_body, websocket, ws_read_frame, ws_send_text


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--fsize-kb", type=int, default=2048)
    p.add_argument("--max-orders", type=int, default=20000)
    a = p.parse_args()

    server = Server().start()
    limit = a.fsize_kb * 1024
    subprocess.run(["prlimit", f"--pid={server.pid}", f"--fsize={limit}:unlimited"], check=True)
    log(f"server pid {server.pid}: RLIMIT_FSIZE {a.fsize_kb} KiB")
    admin, user = server.token("probe-admin", "admin"), server.token("probe-user", "user")
    sub = websocket(server.port, admin)
    ws_send_text(sub, json.dumps({"type": "subscribe", "channel": "admin"}))
    conn = server.http()
    created, refusal = [], None
    for _ in range(a.max_orders):
        try:
            status, body = call(conn, "POST", "/api/orders", admin, order_body(note="y" * 1000, user_id="probe-user"))
        except Exception as e:  # the server died (before SIGXFSZ was ignored, it did)
            time.sleep(1)
            log(f"FAIL: {type(e).__name__} after {len(created)} orders; server exit status "
                f"{server.process.poll()} (negative: killed by that signal)")
            return 1
        if status == 201:
            created.append((body["order"]["id"], body["seq"]))
        else:
            refusal = (status, body)
            break
    failures = []
    log(f"{len(created)} orders created, then: {refusal}")
    if not refusal or refusal[0] != 503 or refusal[1]["error"]["code"] != "storage_unavailable":
        failures.append(f"expected 503 storage_unavailable, got {refusal}")
    last_id, last_seq = created[-1]
    status, body = call(conn, "GET", f"/api/orders/{last_id}", admin)
    if status != 200:
        failures.append(f"read after the failure: {status}")
    status, page = call(conn, "GET", f"/api/orders?since={last_seq - 1}", admin)
    if status != 200 or [e["seq"] for e in page["events"]] != [last_seq]:
        failures.append(f"poll after the failure: {status} {page if status != 200 else [e['seq'] for e in page['events']]}")
    if server.healthz() != 200:
        failures.append("healthz after the failure")
    log(f"after the refusal: read 200, poll shows head {last_seq} and no event of the refused order, healthz 200"
        if not failures else f"problems: {failures}")

    subprocess.run(["prlimit", f"--pid={server.pid}", "--fsize=unlimited"], check=True)
    status, body = call(conn, "POST", "/api/orders", admin, order_body(user_id="probe-user"))
    if status != 201:
        failures.append(f"create after lifting the limit: {status} {body}")
    else:
        # The subscriber gets every earlier event and then this one, next seq, no gap.
        seqs, sub_ok = [], False
        sub.settimeout(10)
        while True:
            frame = ws_read_frame(sub)
            if frame is None:
                break
            if frame[0] == 1:
                m = json.loads(frame[1])
                if m.get("type") == "event":
                    seqs.append(m["seq"])
                    if m["seq"] == body["seq"]:
                        sub_ok = True
                        break
        gaps = [(x, y) for x, y in zip(seqs, seqs[1:]) if y != x + 1]
        log(f"after lifting the limit: created seq {body['seq']} (previous acknowledged {last_seq}); "
            f"subscriber received {len(seqs)} events, {len(gaps)} gaps")
        if not sub_ok or gaps or body["seq"] != last_seq + 1:
            failures.append(f"subscriber: got it {sub_ok}, gaps {gaps[:3]}, seq {body['seq']} vs {last_seq}")
    with open(server.stderr_path) as f:
        errlog = f.read()
    log("server log lines mentioning the failure: "
        + str([l for l in errlog.splitlines() if "error" in l.lower() or "fail" in l.lower()][:5]))
    log(f"SIGTERM exit status {server.stop()}")
    log("PASS" if not failures else f"FAIL: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
