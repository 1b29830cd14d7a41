#!/usr/bin/env python3
"""Subscribe flood: one /ws client sends --messages subscribe messages (in batches of 1000
frames per `send`) with a 4 KiB receive buffer and reads nothing; then it reads what the
server queued for it.

Expected: the server answers the burst of `--ws-message-rate` (100 by default) and closes
with 1008; what it queued for the client is those replies only (issue 8 saw ~5 MB of
replies to 100,000 messages before the rate limit). Loopback only, bounded in time.

  scripts/faults/subscribe_flood.py [--messages 100000]
"""
import argparse
import time

from probe_support import Server, log, websocket, ws_read_frame


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--messages", type=int, default=100000)
    a = p.parse_args()
    server = Server().start()
    s = websocket(server.port, server.token("flooder", "user"), recv_buffer=4096)
    payload = b'{"type":"subscribe","channel":"user:flooder"}'
    frame = bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload   # masked with 0000
    batch = frame * 1000
    sent = 0
    s.settimeout(5)
    try:
        while sent < a.messages:
            s.sendall(batch)
            sent += 1000
    except OSError as e:
        log(f"sending stopped after {sent} messages: {e}")
    time.sleep(2)
    replies = size = 0
    close = None
    try:
        while True:
            opcode, data = ws_read_frame(s)
            if opcode == 8:
                close = int.from_bytes(data[:2], "big")
                break
            replies += 1
            size += len(data)
    except OSError as e:
        log(f"reading ended: {e}")
    rss = server.rss_kb() // 1024
    server.stop()
    ok = close == 1008 and replies <= 300
    log(f"{'PASS' if ok else 'FAIL'} SUMMARY: sent {sent} subscribe messages without reading; then read {replies} "
        f"replies ({size} payload bytes) and close {close}; server RSS {rss} MB")


if __name__ == "__main__":
    main()
