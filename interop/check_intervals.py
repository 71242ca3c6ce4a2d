#!/usr/bin/env python3
"""check_intervals: check the stdout of several interop contenders (ZkInterop / zk_interop.py).

usage: check_intervals.py [--max N] [--rounds R] [read:|write:]FILE...

Each FILE is the stdout of one contender on one path (all of one library's layout). A holder is
inside from its `acquired` to its `releasing` line (mono_ns, comparable on one machine). FILEs
prefixed `read:` are readers: they may be inside together, but never with anyone else. All other
FILEs count against --max (default 1: mutex, write lock, election; N for a semaphore of N).
With --rounds R every file must hold exactly R rounds: ready, R x (acquired, releasing, released),
done. Prints a summary; exits 1 on any violation. For CI debugging; not used by the tests.
"""

import argparse
import sys


def load(spec, rounds):
    kind, _, name = spec.partition(":") if spec.startswith(("read:", "write:")) else ("", "", spec)
    lines = [l.split() for l in open(name).read().splitlines() if l.strip()]
    errors = []
    if not lines or lines[0] != ["ready"]:
        errors.append("%s: does not start with ready" % name)
    if not lines or lines[-1] != ["done"]:
        errors.append("%s: does not end with done" % name)
    body = [l for l in lines if l not in (["ready"], ["done"])]
    intervals = []
    for i in range(0, len(body) - len(body) % 3, 3):
        words = [body[i + k][0] for k in range(3)]
        if words != ["acquired", "releasing", "released"]:
            errors.append("%s: bad event order %s" % (name, words))
            continue
        t = [int(body[i + k][2]) for k in range(3)]
        if not t[0] <= t[1] <= t[2]:
            errors.append("%s: times go backwards %s" % (name, t))
        intervals.append((t[0], t[1], body[i][1]))
    if len(body) % 3:
        errors.append("%s: incomplete round at the end" % name)
    if rounds is not None and len(intervals) != rounds:
        errors.append("%s: %d rounds, expected %d" % (name, len(intervals), rounds))
    return kind == "read", name, intervals, errors


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--max", type=int, default=1)
    p.add_argument("--rounds", type=int)
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    errors, events, spans = [], [], []
    for spec in a.files:
        reader, name, intervals, errs = load(spec, a.rounds)
        errors += errs
        for start, end, who in intervals:
            events += [(start, 1, reader, who), (end, -1, reader, who)]
        if intervals:
            spans.append((intervals[0][0], intervals[-1][1]))
    # Sweep in time order; at equal times a leave goes before an enter.
    inside = {True: set(), False: set()}
    peak = {True: 0, False: 0}
    for t, step, reader, who in sorted(events, key=lambda e: (e[0], e[1])):
        if step < 0:
            inside[reader].discard(who)
            continue
        inside[reader].add(who)
        peak[reader] = max(peak[reader], len(inside[reader]))
        if len(inside[False]) > a.max or (inside[True] and inside[False]):
            errors.append("t=%d: inside together: readers %s, others %s (max %d)"
                          % (t, sorted(inside[True]), sorted(inside[False]), a.max))
    together = min(e for _, e in spans) - max(s for s, _ in spans) if spans else 0
    print("%d holds; peak inside at once: %d others (max %d), %d readers; "
          "all contenders active together for %.1f ms"
          % (len(events) // 2, peak[False], a.max, peak[True], together / 1e6))
    for e in errors[:20]:
        print("VIOLATION " + e)
    if len(errors) > 20:
        print("... and %d more violations" % (len(errors) - 20))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
