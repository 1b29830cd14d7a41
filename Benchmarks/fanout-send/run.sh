#!/usr/bin/env bash
# Builds and runs fanout_send.c: one ~540-byte message to each of 10,000 loopback TCP
# connections per round, by plain send(2), io_uring batches, MSG_ZEROCOPY and io_uring SEND_ZC,
# the methods' rounds alternating on the same sockets. Arguments go to the program, e.g.
#
#   Benchmarks/fanout-send/run.sh                                   # defaults below
#   Benchmarks/fanout-send/run.sh -n 10000 -s 540 -r 20 -m send,uring:64,uring:1024
#
# Needs liburing-dev (installed with apt-get when missing) and `ulimit -n` above N + 100 in
# each of the two processes (sender and receiver).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
if [[ ! -f /usr/include/liburing.h ]]; then
    apt-get install -y -qq liburing-dev >/dev/null || { apt-get update -qq && apt-get install -y -qq liburing-dev >/dev/null; }
fi
mkdir -p "$HERE/.build"
cc -O2 -Wall -Wextra -o "$HERE/.build/fanout_send" "$HERE/fanout_send.c" -luring -lpthread
ulimit -n "$(ulimit -Hn)"
if [[ $# -eq 0 ]]; then
    set -- -n 10000 -s 540 -r 20 -m send,send2,uring:64,uring:1024,uring-fixed:1024,zerocopy,uring-zc:1024
fi
exec "$HERE/.build/fanout_send" "$@"
