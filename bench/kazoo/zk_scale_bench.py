#!/usr/bin/env python3
"""zk_scale_bench: kazoo's side of zksync's scale benchmarks (issue 16), one Python process per
run, printing one JSON line in the shape of examples/bench.rs's (client "kazoo").

Run it with Debian's kazoo 2.8.0 (scripts/common.sh ensure_bench_peers checks it):
  /usr/bin/python3 bench/kazoo/zk_scale_bench.py --servers H --scenario S [--ops N] [--clients K] [--warmup N]

Scenarios (the same measurements as zksync's; see examples/bench.rs and bench/scale.rs):
  handoff         K sessions (a KazooClient each, a thread each) loop acquire/release of one
                  client.Lock; --warmup N acquisitions fill the queue, then --ops are timed
                  grant to grant; p50/p99 ask-to-granted
  barrier         K waiters (a session and a thread each) in client.Barrier.wait(); armed when
                  the servers list K sessions watching the path (4lw `wchp`); --ops rounds, each timed from
                  remove() to the last waiter back
  double-barrier  K participants, client.DoubleBarrier(path, K): enter() + leave(), --ops rounds
  many-locks      one session holds --ops client.Lock on different paths (acquired by 64
                  threads); kazoo has no per-lock loss monitor (a state listener is per client)
Memory: VmHWM (max_rss_kb) and VmRSS at the steady point, per session (minus the RSS before the
sessions were opened). Sessions: timeout 10 s. kazoo's logging is off.
"""

import argparse
import json
import logging
import os
import socket
import sys
import threading
import time

from kazoo.client import KazooClient

ROOT = "/bench-kazoo-%d" % os.getpid()
extra = {}
errors = [0]
lock = threading.Lock()


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def mem(base, n, unit):
    rss, peak = status("VmRSS:"), status("VmHWM:")
    extra["rss_kb"] = rss
    extra["rss_per_%s_kb" % unit] = round((rss - base) / n, 1)
    extra["peak_rss_per_%s_kb" % unit] = round((peak - base) / n, 1)


def error():
    with lock:
        errors[0] += 1


def clients(a, k):
    """k started clients, 64 started at a time (start() blocks until connected)."""
    t = time.monotonic()
    cs = [KazooClient(hosts=a.servers, timeout=10.0) for _ in range(k)]
    for i in range(0, k, 64):
        ts = [threading.Thread(target=c.start, kwargs={"timeout": 60}) for c in cs[i:i + 64]]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
    extra["connect_secs"] = round(time.monotonic() - t, 3)
    extra["clients"] = k
    return cs


def close(cs):
    for c in cs:
        c.stop()
        c.close()


def latency(v, p50, p99):
    v = sorted(v)
    if v:
        extra[p50] = round(v[round((len(v) - 1) * 0.5)], 3)
        extra[p99] = round(v[round((len(v) - 1) * 0.99)], 3)


def handoff(a, base):
    k = a.clients or 20
    cs = clients(a, k)
    path = ROOT + "-handoff"
    total = a.warmup + a.ops + (1 if a.warmup > 0 else 0)
    count = [0]
    waits = []
    window = [None, None]

    def contender(c):
        lk = c.Lock(path)
        while True:
            t = time.monotonic()
            try:
                lk.acquire()
            except Exception:  # noqa: BLE001
                error()
                continue
            now = time.monotonic()
            with lock:
                i = count[0]
                count[0] += 1
            if a.warmup <= i < a.warmup + a.ops:
                waits.append((now - t) * 1e3)
            if a.warmup > 0 and i == a.warmup:
                window[0] = now
            if a.warmup > 0 and i == a.warmup + a.ops:
                window[1] = now
                mem(base, k, "session")
            try:
                lk.release()
            except Exception:  # noqa: BLE001
                error()
            if i + 1 >= total:
                break

    t0 = time.monotonic()
    ts = [threading.Thread(target=contender, args=(c,)) for c in cs]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    secs = time.monotonic() - t0
    if a.warmup > 0:
        secs = window[1] - window[0]
        extra["warmup"] = a.warmup
    else:
        mem(base, k, "session")
    latency(waits, "p50_ms", "p99_ms")
    try:
        cs[0].delete(path, recursive=True)
    except Exception:  # noqa: BLE001
        pass
    close(cs)
    return secs


def server_watches(a, path):
    """Sessions watching `path` on the servers (4lw wchp, summed over the servers)."""
    total = 0
    for hp in a.servers.split(","):
        host, port = hp.strip().rsplit(":", 1)
        with socket.create_connection((host, int(port))) as s:
            s.sendall(b"wchp")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        inside = False
        for line in data.decode().splitlines():
            if not line.startswith("\t"):
                inside = line == path
            elif inside:
                total += 1
    return total


def barrier(a, base):
    k = a.clients or 50
    setter = KazooClient(hosts=a.servers, timeout=10.0)
    setter.start(timeout=60)
    cs = clients(a, k)
    path = ROOT + "-barrier"
    b = setter.Barrier(path)
    rounds = []
    t0 = time.monotonic()
    for _ in range(a.ops):
        b.create()
        done = [0.0] * k

        def waiter(j, c):
            try:
                c.Barrier(path).wait()
                done[j] = time.monotonic()
            except Exception:  # noqa: BLE001
                error()

        ts = [threading.Thread(target=waiter, args=(j, c)) for j, c in enumerate(cs)]
        for th in ts:
            th.start()
        while server_watches(a, path) < k:
            time.sleep(0.001)
        mem(base, k, "session")
        t = time.monotonic()
        b.remove()
        for th in ts:
            th.join()
        rounds.append((max([t] + done) - t) * 1e3)
    secs = time.monotonic() - t0
    rounds.sort()
    extra["release_ms_median"] = round(rounds[(len(rounds) - 1) // 2], 3)
    extra["release_ms_max"] = round(rounds[-1], 3)
    close(cs + [setter])
    return secs


def double_barrier(a, base):
    k = a.clients or 10
    cs = clients(a, k)
    rounds = []
    t0 = time.monotonic()
    for r in range(a.ops):
        path = "%s-dbarrier-%d" % (ROOT, r)
        t = time.monotonic()

        def participant(c):
            try:
                b = c.DoubleBarrier(path, k)
                b.enter()
                b.leave()
            except Exception:  # noqa: BLE001
                error()

        ts = [threading.Thread(target=participant, args=(c,)) for c in cs]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
        rounds.append((time.monotonic() - t) * 1e3)
        try:
            cs[0].delete(path, recursive=True)
        except Exception:  # noqa: BLE001
            pass
    secs = time.monotonic() - t0
    mem(base, k, "session")
    latency(rounds, "round_ms_median", "round_ms_p99")
    close(cs)
    return secs


def many_locks(a, base):
    n = a.ops
    threads = 64
    c = KazooClient(hosts=a.servers, timeout=10.0)
    c.start(timeout=60)
    root = ROOT + "-locks"
    dirs = ["%s/l%05d" % (root, i) for i in range(n)]
    c.ensure_path(root)
    for i in range(0, n, 1000):
        tx = [c.create_async(d) for d in dirs[i:i + 1000]]
        for r in tx:
            r.get()
    held = [[] for _ in range(threads)]

    def locker(w):
        for i in range(w, n, threads):
            lk = c.Lock(dirs[i])
            try:
                lk.acquire()
                held[w].append(lk)
            except Exception:  # noqa: BLE001
                error()

    def releaser(w):
        for lk in held[w]:
            try:
                lk.release()
            except Exception:  # noqa: BLE001
                error()

    def run(target):
        ts = [threading.Thread(target=target, args=(w,)) for w in range(threads)]
        for th in ts:
            th.start()
        for th in ts:
            th.join()

    t = time.monotonic()
    run(locker)
    acquire_secs = time.monotonic() - t
    time.sleep(1.0)  # hold, as zksync's run does
    mem(base, n, "lock")
    t = time.monotonic()
    run(releaser)
    release_secs = time.monotonic() - t
    for i in range(0, n, 1000):
        tx = [c.delete_async(d) for d in dirs[i:i + 1000]]
        for r in tx:
            r.get()
    c.delete(root)
    close([c])
    extra["locks"] = n
    extra["acquire_secs"] = round(acquire_secs, 3)
    extra["release_secs"] = round(release_secs, 3)
    extra["release_per_sec"] = round(n / release_secs)
    return acquire_secs


def main():
    logging.getLogger("kazoo").addHandler(logging.NullHandler())
    logging.getLogger("kazoo").propagate = False
    p = argparse.ArgumentParser()
    p.add_argument("--servers", default="127.0.0.1:2181")
    p.add_argument("--scenario", default="handoff",
                   choices=["handoff", "barrier", "double-barrier", "many-locks"])
    p.add_argument("--ops", type=int, default=0)
    p.add_argument("--clients", type=int, default=0)
    p.add_argument("--warmup", type=int, default=0)
    a = p.parse_args()
    if a.ops == 0:
        a.ops = {"handoff": 2000, "barrier": 5, "double-barrier": 20, "many-locks": 10000}[a.scenario]
    base = status("VmRSS:")
    run = {"handoff": handoff, "barrier": barrier, "double-barrier": double_barrier,
           "many-locks": many_locks}[a.scenario]
    secs = run(a, base)
    line = {"client": "kazoo", "scenario": a.scenario, "ops": a.ops, "errors": errors[0],
            "secs": round(secs, 3), "ops_per_sec": round(a.ops / secs),
            "max_rss_kb": status("VmHWM:")}
    line.update(extra)
    print(json.dumps(line, separators=(",", ":")))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
