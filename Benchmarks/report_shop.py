"""Sections (g) the real shop, (h) reconnect storm and (i) TLS of docs/BENCHMARKS.md.

Called by report.py with the run's results (label -> JSON result line)."""


def _num(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, int) or (isinstance(v, float) and abs(v) >= 1000):
        return f"{int(round(v)):,}".replace(",", " ")
    return f"{v:.{digits}f}"


def _get(runs, label):
    r = runs.get(label)
    return None if r is None or r.get("event") != "result" else r


def _per_min(r, key):
    if r is None or r.get(key) is None or not r.get("window_s"):
        return None
    return r[key] / r["window_s"] * 60


def _pct_core(cpu_per_min):
    return None if cpu_per_min is None else cpu_per_min / 60 * 100


RATES = [("1", "1 order/s"), ("10", "10 orders/s"), ("100", "100 orders/s"), ("max", "as fast as answered")]

FULL_SCALE = """\
# (g) per rate R in 1 10 100 (and --rate 0 -m 12000 for the highest sustained rate), each on a fresh server:
loadgen shop --port $PORT --server-pid $PID --jwt-secret-file $WORK/jwt-secret --admins 200 --customers 15000 \\
    --processes 2 --idle-timeout 10 --pollers 0    --rate R --duration 60 [--creators 2 for R < 100]   # g-push-rR
loadgen shop ... --pollers 2000 --rate R --duration 60                               # g-mixed-rR
loadgen shop ... --pollers 2000 --all-poll --rate R --duration 60                    # g-allpoll-rR
# (h) plain, then TLS (server with --tls-cert/--tls-key/--tls-port); scripts/bench.sh restarts the
#     server (SIGTERM, same port and database) 8 s after the orders start:
loadgen shop --storm --port $PORT --server-pid-file $WORK/server.pid --jwt-secret-file $WORK/jwt-secret \\
    --admins 200 --customers 15000 --pollers 0 --processes 2 --idle-timeout 20 --rate 10 --duration 38 --creators 2 [--tls]
# (i) on a server with TLS:
loadgen idle --port $TLS_PORT --tls -c 10000 --hold 6
loadgen latency --port $TLS_PORT --tls -s 10000 -m 100 -r 10 --publisher http
loadgen throughput --port $TLS_PORT --tls -s 1000 -m 2000 --publisher ws"""


def method(w):
    w("- (g) the real shop: `loadgen shop` opens 200 admin dashboards (`/ws?access_token=`, channel "
      "`admin`), 15 000 customers each on its own `user:u<i>` (every 10th customer with a second tab: "
      "1 500 more sockets) and 2 000 legacy pollers (`GET /api/orders?since=N&epoch=E` every 5 s with "
      "`If-None-Match`, as a browser does), all with their own tokens (HS256, signed by the load "
      "generator with the server's secret). The shop's backend (service token; 2 connections below 100 orders/s, else 8) POSTs "
      "orders at the rate and PUTs three tracking updates per order, 5 s, 10 s and 15 s after the "
      "order's answer. Orders go to users by a fixed scramble (legacy ones included), so every "
      "process knows in advance which events each client is owed: *missing* = owed − received, a "
      "customer receiving another user's event counts as *foreign*. POST→admin latency is the "
      "order's `metadata.t` stamp to an admin's receipt; PUT→customer is the update's stamp (carried "
      "in `deliveryPartner.phone`) to the customer's receipt; *staleness* is a polled event's stamp to "
      "the poll answer that brought it. Each rate runs twice on fresh servers, push only and with the "
      "pollers: **the pollers' CPU is the difference of the two runs**. Then every client polls "
      "(`--all-poll`). Server CPU per minute is over the window from the first order to the last "
      "delivery (updates included); bytes are what the clients sent and received (TLS-free, handshakes excluded).")
    w("- (h) reconnect storm: the (g) push population (no pollers), orders at 10/s; 8 s after they "
      "start, `scripts/bench.sh` sends SIGTERM to the server and starts it again on the same port and "
      "database. Every client reconnects as `web/orderpush.js` does: full jitter over "
      "min(15 s, 0.5 s × 2^(failures−1)), a connection that lasted 3 s resets the failures, and it "
      "resubscribes with `since` = the last seq it saw (else the head of its first `subscribed`) and the "
      "epoch. The backend retries unanswered POSTs with an `Idempotency-Key` (no updates: a PUT is not "
      "idempotent). Times are from the first close a client saw: all resubscribed = the last "
      "`subscribed` after a reconnect; all caught up = the last receipt of an event sent before that "
      "client's resubscribe. Server CPU follows the pid file (old process over the window + the new one "
      "from its start). With `--tls` the clients keep the server's session ticket and offer it on reconnect.")
    w("- (i) the same (b) and (c) loads over TLS (publisher included) and idle memory per TLS connection, "
      "against `serve --bench --tls-cert … --tls-key … --tls-port`; plain rows are (a)–(c).")
    w("- The load generator runs in several processes when one's 20 000 descriptors are not enough "
      "(`--processes N`, automatic by default; (g) and (h) use 2): the first starts the others with the "
      "same arguments, each takes every N-th client, and they keep in step over pipes (`open`, `go`, "
      "`end`, `done`); CLOCK_MONOTONIC stamps compare across processes on one machine.")


def sections(runs, w):
    if not any(label[:2] in ("g-", "h-", "i-") for label in runs):
        return
    w("## (g) The real shop")
    w("")
    w("200 admin dashboards, 15 000 customers (1 500 with a second tab), 2 000 legacy pollers "
      "(at BENCH_SCALE < 1 the counts are scaled). Push only, then push with the legacy pollers; "
      "the pollers' share is the difference of the two runs.")
    w("")
    w("| rate | orders/s reached | POST→admin p50 / p99 ms | PUT→customer p50 / p99 ms | missing / dup / foreign | "
      "server CPU s/min: push only (% of a core) | with pollers | pollers' share | bytes/min push / pollers |")
    w("|---|---|---|---|---|---|---|---|---|")
    for key, title in RATES:
        p, m = _get(runs, f"g-push-r{key}"), _get(runs, f"g-mixed-r{key}")
        if p is None and m is None:
            continue
        ref = p or m
        cpu_p = p.get("server_cpu_s_per_minute") if p else None
        cpu_m = m.get("server_cpu_s_per_minute") if m else None
        share = None if cpu_p is None or cpu_m is None else cpu_m - cpu_p
        miss = " ; ".join(f"{r.get('missing')} / {r.get('duplicates')} / {r.get('foreign')}" for r in (p, m) if r)
        w(f"| {title} | {_num(ref.get('orders_per_s'))} | {_num(ref.get('p50_ms'))} / {_num(ref.get('p99_ms'))} | "
          f"{_num(ref.get('put_customer_p50_ms'))} / {_num(ref.get('put_customer_p99_ms'))} | {miss} | "
          f"{_num(cpu_p, 2)} ({_num(_pct_core(cpu_p), 2)} %) | {_num(cpu_m, 2)} | {_num(share, 2)} | "
          f"{_num((m or p).get('push_bytes_per_minute'))} / {_num(m.get('poll_bytes_per_minute') if m else None)} |")
    w("")
    w("Latencies in the first columns are from the push-only run (the mixed run's are under All runs). "
      "*missing* counts what each client was owed (its own user's events, every event for an admin) and "
      "did not receive by the end; *foreign* an event a client was not owed (must be 0).")
    w("")
    w("**Everyone polling instead** (the same clients, every 5 s, `If-None-Match`):")
    w("")
    w("| rate | server CPU s/min (% of a core) | vs push with pollers | bytes/min | vs push | staleness p50 / p99 / max ms | polls (200 / 304) | missing |")
    w("|---|---|---|---|---|---|---|---|")
    for key, title in RATES:
        a, m = _get(runs, f"g-allpoll-r{key}"), _get(runs, f"g-mixed-r{key}")
        if a is None:
            continue
        cpu_a = a.get("server_cpu_s_per_minute")
        cpu_m = m.get("server_cpu_s_per_minute") if m else None
        b_a = a.get("bytes_per_minute")
        b_m = m.get("bytes_per_minute") if m else None
        w(f"| {title} | {_num(cpu_a, 2)} ({_num(_pct_core(cpu_a), 1)} %) | "
          f"{'–' if not cpu_a or not cpu_m else f'{cpu_a / cpu_m:.1f}×'} | {_num(b_a)} | "
          f"{'–' if not b_a or not b_m else f'{b_a / b_m:.1f}×'} | "
          f"{_num(a.get('staleness_p50_ms'))} / {_num(a.get('staleness_p99_ms'))} / {_num(a.get('staleness_max_ms'))} | "
          f"{a.get('poll_requests')} ({a.get('poll_200')} / {a.get('poll_304')}) | {a.get('missing')} |")
    w("")
    p1 = _get(runs, "g-push-r1")
    if p1 and p1.get("server_cpu_s_per_minute") is not None:
        pct = _pct_core(p1["server_cpu_s_per_minute"])
        p99s = [p1.get("p99_ms"), p1.get("put_customer_p99_ms")]
        p99 = max(v for v in p99s if v is not None) if any(v is not None for v in p99s) else None
        ok_cpu = pct is not None and pct <= 1.0
        ok_p99 = p99 is not None and p99 <= 10.0
        w(f"Target at 1 order/s (the push clients cost ≤ 1 % of one core, pings included; p99 event delay ≤ 10 ms): "
          f"{_num(pct, 2)} % of a core — {'met' if ok_cpu else 'not met'}; p99 {_num(p99, 1)} ms — "
          f"{'met' if ok_p99 else 'not met'}. (Pings: every 30 s by default, so a 60 s window holds two rounds.)")
        w("")

    h = [(label, _get(runs, label)) for label in ("h-storm-plain", "h-storm-tls")]
    if any(r for _, r in h):
        w("## (h) Reconnect storm")
        w("")
        w("| transport | clients | down → first reconnect s | all resubscribed s | all caught up s | handshakes/s | "
          "reconnect attempts | TLS handshakes (resumed) | missing / dup | server CPU s (new process until caught up) |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for label, r in h:
            if r is None:
                continue
            tls = f"{r.get('tls_handshakes')} ({r.get('tls_resumed')})" if r.get("tls_handshakes") is not None else "–"
            w(f"| {'TLS' if 'tls' in label else 'plain'} | {r.get('ready')} | {_num(r.get('first_reconnect_s'), 2)} | "
              f"{_num(r.get('all_resubscribed_s'), 2)} | {_num(r.get('all_caught_up_s'), 2)} | "
              f"{_num(r.get('handshakes_per_s'))} | {r.get('reconnect_attempts')} | {tls} | "
              f"{r.get('missing')} / {r.get('duplicates')} | {_num(r.get('storm_server_cpu_s'), 2)} |")
        w("")
        w("The clients' jitter (up to 0.5 s for the first try, doubling after each failed one) spreads the "
          "reconnects; attempts above the client count are tries that found the server not yet listening. "
          "The server runs here without `--tls-ticket-key-file`, so it draws its session ticket keys at "
          "start (shared by all its loops) and after the restart every client makes a full handshake: "
          "resumed = 0 above is that, not a client fault. With a key file (docs/DEPLOYMENT.md) the tickets "
          "outlive a restart and are accepted by every node; the integration test "
          "`TLSTicketKeyTests.aSessionResumesAcrossARestartWithTheSameTicketKeyFile` shows a resumed "
          "handshake after a restart, TLS 1.3 and 1.2. This storm is the worst case: full handshakes only.")
        w("")

    i_rows = [("i-idle-tls", "a-orderpush", "idle connections: server memory per connection"),
              ("i-b-tls", "b-orderpush", "(b) 10 000 subscribers, 10 msg/s: p50 / p99 / max ms"),
              ("i-c-tls", "c-orderpush", "(c) 1 000 subscribers, burst: deliveries/s")]
    if any(_get(runs, t) for t, _, _ in i_rows):
        w("## (i) TLS beside plain")
        w("")
        w("| load | plain | TLS | TLS vs plain |")
        w("|---|---|---|---|")
        for tls_label, plain_label, title in i_rows:
            t, p = _get(runs, tls_label), _get(runs, plain_label)
            if tls_label == "i-idle-tls":
                f = lambda r: None if r is None else r.get("server_kib_per_connection")
                cell = lambda r: "–" if r is None else f"{_num(f(r), 2)} KiB ({r.get('ready')} open)"
            elif tls_label == "i-b-tls":
                f = lambda r: None if r is None else r.get("p50_ms")
                cell = lambda r: "–" if r is None else (f"{_num(r.get('p50_ms'))} / {_num(r.get('p99_ms'))} / "
                                                         f"{_num(r.get('max_ms'))}, missing {r.get('missing')}")
            else:
                f = lambda r: None if r is None else r.get("deliveries_per_s")
                cell = lambda r: "–" if r is None else f"{_num(f(r))} /s, missing {r.get('missing')}"
            a, b = f(t), f(p)
            w(f"| {title} | {cell(p)} | {cell(t)} | {'–' if not a or not b else f'{a / b:.2f}×'} |")
        w("")
        w("OpenSSL settings of the server (Sources/OpenSSLKit/TLSContext.swift): `SSL_MODE_RELEASE_BUFFERS` "
          "(no read/write buffers while a connection is idle; measured without it on OpenSSL 3.0.19, 4 000 idle TLS "
          "connections, fresh server each, alternated twice: 32.6 and 32.4 KiB per connection, with it 15.7 and 15.5), "
          "the server's session cache left on (turning it off changed nothing: 15.5/15.9 vs 15.6/15.5 KiB, since "
          "TLS 1.3 tickets are stateless), partial writes, session tickets on with keys "
          "shared by every loop's context (before: OpenSSL's per-context random keys, so a reconnect "
          "resumed only when it landed on the same loop: `openssl s_client -sess_in`, 20 reconnects, 2 loops: "
          "TLS 1.3 10/20 → 20/20 resumed, TLS 1.2 8/20 → 20/20).")
        w("")


def full_scale_commands(w):
    w("Full-scale command lines of (g), (h) and (i) (what `scripts/bench.sh` runs at BENCH_SCALE=1):")
    w("")
    w("```")
    for line in FULL_SCALE.splitlines():
        w(line)
    w("```")
    w("")
