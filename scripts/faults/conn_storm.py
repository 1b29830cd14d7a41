#!/usr/bin/env python3
"""Connection storm: many idle TCP connections at once, server memory before and after.

Each of --storms rounds opens --connections (default 10,000) connections to the plain
port as fast as the kernel allows, holds them --hold seconds without sending anything,
checks how many are still open, checks /healthz from a fresh connection while they are
held, then closes them all. Server RSS and open descriptors are sampled before, while
held and after each round. Expected: every connection is accepted up to
--max-connections, /healthz answers 200 throughout (beyond the cap: see
docs/RELIABILITY.md), and RSS returns near its starting value after each round.

  scripts/faults/conn_storm.py [--connections 10000] [--storms 3] [--hold 5] [--server-args="--max-connections 1000"]

The client raises its own RLIMIT_NOFILE to the hard limit. Loopback only, bounded.
"""
import argparse
import resource
import select
import shlex
import socket
import time

from probe_support import Server, log


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--connections", type=int, default=10000)
    p.add_argument("--storms", type=int, default=3)
    p.add_argument("--hold", type=float, default=5)
    p.add_argument("--server-args", default="",
                   help='extra `orderpush serve` options as one string: --server-args="--max-connections 1000"')
    a = p.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.connections + 100 > hard:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} is too low for {a.connections} connections")

    server = Server(extra_args=shlex.split(a.server_args)).start()
    time.sleep(1)
    base = server.rss_kb()
    log(f"server pid {server.pid} port {server.port}; RSS {base // 1024} MB, fds {server.open_fds()}")
    results = []
    for storm in range(1, a.storms + 1):
        socks, refused = [], 0
        t0 = time.time()
        for _ in range(a.connections):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(10)
            try:
                s.connect(("127.0.0.1", server.port))
                socks.append(s)
            except OSError:
                refused += 1
                s.close()
        opened = time.time() - t0
        time.sleep(a.hold)
        # Which ones has the server closed (readable with EOF or reset)?
        closed = 0
        poller = select.poll()
        for s in socks:
            poller.register(s, select.POLLIN)
        readable = {fd for fd, _ in poller.poll(0)}
        for s in socks:
            if s.fileno() in readable:
                try:
                    if s.recv(1, socket.MSG_PEEK) == b"":
                        closed += 1
                except OSError:
                    closed += 1
        held_rss, held_fds = server.rss_kb(), server.open_fds()
        health = server.healthz()
        for s in socks:
            s.close()
        time.sleep(2)
        after = server.rss_kb()
        results.append((storm, len(socks), refused, closed, health, held_rss, after))
        log(f"storm {storm}: {len(socks)} connected in {opened:.1f}s ({refused} refused), "
            f"{len(socks) - closed} still open after {a.hold}s, server fds {held_fds}, "
            f"RSS held {held_rss // 1024} MB, after close {after // 1024} MB, /healthz while held: {health}")
    final = server.healthz()
    status = server.stop()
    log(f"SUMMARY: {a.storms} storms of {a.connections} connections; RSS start {base // 1024} MB, "
        f"max held {max(r[5] for r in results) // 1024} MB, end {results[-1][6] // 1024} MB; "
        f"/healthz after: {final}; SIGTERM exit {status}")
    return 0 if final == 200 else 1


if __name__ == "__main__":
    raise SystemExit(main())
