#!/usr/bin/env python3
"""Load (b) of scripts/bench.sh against several server configurations, alternated, with the
server's user and kernel CPU over the measured window, and optionally where the median
subscriber's delay goes (syscall tracepoints) or a perf profile of the server.

    Benchmarks/fanout-send/load_b.py --loadgen L --db-dir D --variant loops2=BIN \
        --variant 'loops1=BIN --loops 1' --runs 3 [--trace] [--profile DIR]

Each run starts a fresh server (`serve --bench`, as scripts/bench.sh does) on a fresh port and
runs `loadgen latency -s 10000 -m 100 -r 10 --publisher http` against it. The server's utime
and stime (/proc/PID/stat) are read when loadgen reports every connection open and again at
its result, so handshakes are not counted.

--trace records syscalls:sys_enter_sendto (the server's fan-out writes), sys_exit_read (the
load generator's reads, the server's read of each POST) and sys_enter_write (the publisher's
POST) with `perf record`, and splits each message's delay at the median subscriber into:
publish -> the server has read the POST -> its first send -> its N/2-th send -> the load
generator's N/2-th read. Tracing costs every syscall a little: its latencies are shown apart.
"""
import argparse, json, os, shlex, signal, socket, statistics, subprocess, sys, tempfile, time

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK   # utime, stime


def wait_port(port):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not come up")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def parse_trace(path, server_pid, loadgen_pid, subscribers):
    """Per message: times (ms after the publisher's write) of the server's read of the POST,
    its first, median and last fan-out send, and the load generator's median and last read."""
    out = subprocess.run(["perf", "script", "-i", path, "-F", "pid,time,event,trace"],
                         capture_output=True, text=True).stdout
    pub_writes, server_reads, sends, reads = [], [], [], []
    writes_by_fd = {}
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 3:
            continue
        pid = int(parts[0])
        t = float(parts[1].rstrip(":"))
        event = parts[2]
        rest = parts[3] if len(parts) > 3 else ""
        if event.startswith("syscalls:sys_enter_sendto") and pid == server_pid:
            sends.append(t)
        elif event.startswith("syscalls:sys_exit_read"):
            ret = int(rest.split("0x", 1)[1], 16) if "0x" in rest else 0
            if ret <= 0 or ret > 1 << 40:
                continue
            (server_reads if pid == server_pid else reads if pid == loadgen_pid else []).append(t)
        elif event.startswith("syscalls:sys_enter_write") and pid == loadgen_pid:
            fd = rest.split("fd:", 1)[1].split(",")[0].strip() if "fd:" in rest else "?"
            writes_by_fd.setdefault(fd, []).append(t)
    if not writes_by_fd:
        return None
    pub_writes = max(writes_by_fd.values(), key=len)   # the publisher's connection writes most
    # Sends and reads are assigned to messages by count: the server sends each message to
    # every subscriber once, in publishing order, and each subscriber reads its messages in
    # order, so the k-th block of N sends (reads) is message k's, give or take the boundary
    # (when the load generator lags, one read may hold two messages: then the figures are
    # early by that much). The publisher's own reads (one answer per POST) are few.
    # Blocks are counted from the end: perf attaches while the first messages are under way,
    # so the first recorded publish may have only part of its sends and reads recorded.
    rows = []
    n = subscribers
    count = len(pub_writes)
    for k, t_pub in enumerate(pub_writes):
        from_end = count - k
        if from_end * n > len(sends) or from_end * n > len(reads):
            continue
        s = sends[len(sends) - from_end * n:len(sends) - (from_end - 1) * n]
        r = reads[len(reads) - from_end * n:len(reads) - (from_end - 1) * n]
        if s[0] < t_pub:
            continue   # not this message's: the counts do not line up (a lost event)
        later = [t for t in server_reads if t >= t_pub]
        ms = lambda t: (t - t_pub) * 1000
        rows.append({
            "server_read": ms(later[0]) if later else None, "first_send": ms(s[0]), "median_send": ms(s[n // 2]),
            "last_send": ms(s[-1]), "median_read": ms(r[n // 2]), "last_read": ms(r[-1])})
    return rows, len(pub_writes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--db-dir", required=True)
    ap.add_argument("--variant", action="append", required=True, help="NAME=[ENV=VALUE...] BINARY [server args]")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--subscribers", type=int, default=10000)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--port", type=int, default=19700)
    ap.add_argument("--trace", action="store_true")
    ap.add_argument("--profile", help="perf record -g of the server into DIR/NAME-RUN.data")
    ap.add_argument("--cwd", default=os.getcwd(), help="the server's working directory")
    args = ap.parse_args()

    variants = []
    for v in args.variant:
        name, cmd = v.split("=", 1)
        words = shlex.split(cmd)
        env = {}
        while "=" in words[0] and not words[0].startswith("/"):
            key, value = words.pop(0).split("=", 1)
            env[key] = value
        variants.append((name, words[0], words[1:], env))
    secret = os.path.join(args.db_dir, "jwt-secret")
    if not os.path.exists(secret):
        with open(secret, "w") as f:
            f.write(os.urandom(32).hex())
        os.chmod(secret, 0o600)

    port = args.port
    results = {name: [] for name, _, _, _ in variants}
    for run in range(1, args.runs + 1):
        for name, binary, extra, env in variants:
            port += 1
            db = tempfile.mkdtemp(dir=args.db_dir)
            server = subprocess.Popen([binary, "serve", "--bench", "--port", str(port), "--db", f"{db}/orderpush.sqlite",
                                       "--jwt-secret-file", secret] + extra, cwd=args.cwd,
                                      env=dict(os.environ, **env),
                                      stdout=subprocess.DEVNULL, stderr=open(f"{db}/server.log", "w"))
            wait_port(port)
            time.sleep(0.5)
            lg_cmd = [args.loadgen, "latency", "-s", str(args.subscribers), "-m", str(args.messages), "-r", "10",
                      "--publisher", "http", "--port", str(port), "--server-pid", str(server.pid),
                      "--label", f"{name}-{run}"]
            lg = subprocess.Popen(lg_cmd, stdout=subprocess.PIPE, stderr=open(f"{db}/loadgen.txt", "w"), text=True)
            before = lg_before = None
            perf = trace_file = None
            result = None
            for line in lg.stdout:
                event = json.loads(line) if line.startswith("{") else {}
                if event.get("event") == "all_open":
                    before, lg_before = proc_cpu(server.pid), proc_cpu(lg.pid)
                    if args.trace:
                        trace_file = f"{db}/trace.data"
                        perf = subprocess.Popen(["perf", "record", "-q", "-o", trace_file, "-m", "64M",
                                                 "-e", "syscalls:sys_enter_sendto", "-e", "syscalls:sys_exit_read",
                                                 "-e", "syscalls:sys_enter_write",
                                                 "-p", f"{server.pid},{lg.pid}"],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    elif args.profile:
                        os.makedirs(args.profile, exist_ok=True)
                        perf = subprocess.Popen(["perf", "record", "-q", "-F", "999", "-g", "-o",
                                                 f"{args.profile}/{name}-{run}.data", "-p", str(server.pid)],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                elif event.get("event") == "result":
                    after, lg_after = proc_cpu(server.pid), proc_cpu(lg.pid)
                    result = event
            lg.wait()
            if perf:
                perf.send_signal(signal.SIGINT)
                perf.wait()
            stop(server)
            if not result or not before:
                print(f"{name} run {run}: no result (see {db})", flush=True)
                continue
            user, sys_ = after[0] - before[0], after[1] - before[1]
            deliveries = result.get("delivered") or 1
            row = {"variant": name, "run": run, "p50_ms": result.get("p50_ms"), "p90_ms": result.get("p90_ms"),
                   "p99_ms": result.get("p99_ms"), "max_ms": result.get("max_ms"), "missing": result.get("missing"),
                   "server_user_s": round(user, 2), "server_sys_s": round(sys_, 2),
                   "server_us_per_delivery": round((user + sys_) / deliveries * 1e6, 2),
                   "server_sys_share": round(sys_ / (user + sys_), 3) if user + sys_ > 0 else None,
                   "loadgen_cpu_s": round(sum(lg_after) - sum(lg_before), 2),
                   "loadgen_us_per_delivery": round((sum(lg_after) - sum(lg_before)) / deliveries * 1e6, 2)}
            if trace_file:
                parsed = parse_trace(trace_file, server.pid, lg.pid, args.subscribers)
                if parsed:
                    rows, published = parsed
                    row["traced_messages"] = f"{len(rows)} of {published}"
                    for key in ("server_read", "first_send", "median_send", "last_send", "median_read", "last_read"):
                        vals = [r[key] for r in rows if r[key] is not None]
                        if vals:
                            row[key + "_ms"] = round(statistics.median(vals), 2)
                os.remove(trace_file)
            results[name].append(row)
            print(json.dumps(row), flush=True)
    print("medians:")
    for name, rows in results.items():
        if not rows:
            continue
        med = lambda k: round(statistics.median([r[k] for r in rows if r.get(k) is not None]), 2) if any(r.get(k) is not None for r in rows) else None
        keys = ["p50_ms", "p99_ms", "max_ms", "server_us_per_delivery", "server_sys_share", "loadgen_us_per_delivery",
                "median_send_ms", "median_read_ms"]
        print(name, {k: med(k) for k in keys})


if __name__ == "__main__":
    main()
