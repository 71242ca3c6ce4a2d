#!/usr/bin/env python3
"""zk_interop: a kazoo contender for zksync's interop tests (issue 14).

The Rust tests spawn this program next to zksync participants (Layout::Kazoo) on the same
ZooKeeper path and read its stdout to see when it holds the lock. Its twin for Curator is
interop/curator/ZkInterop.java; both take the same arguments and print the same lines.

Run it with the kazoo under test:
  /usr/bin/python3 interop/kazoo/zk_interop.py ...                    Debian python3-kazoo 2.8.0
  target/interop/kazoo-2.11/bin/python interop/kazoo/zk_interop.py ...  kazoo 2.11.0 from PyPI
(scripts/common.sh ensure_interop installs both.)

Command line:
  --hosts H          ZooKeeper connect string
  --recipe R         mutex      client.Lock(path, id)
                     read       client.ReadLock(path, id)
                     write      client.WriteLock(path, id)
                     semaphore  client.Semaphore(path, identifier=id, max_leases=max)
                     election   client.Election(path, id).lock (acquire/release explicitly)
  --path P --id ID   the recipe's path; the id (the recipe's identifier, i.e. node data)
  --max N            semaphore leases (default 1)
  --rounds R         acquire/release rounds (default 1)
  --hold-ms MS       how long to hold each time (default 0)
  --session-ms T     session timeout (default 4000): KazooClient(hosts, timeout=T/1000)
  --hold-forever     acquire once, print "acquired", then block until killed

stdout, one line per event, flushed at once (mono_ns = time.monotonic_ns(), CLOCK_MONOTONIC):
  ready                       connected
  acquired <id> <mono_ns>     the acquire returned
  releasing <id> <mono_ns>    about to release (after holding --hold-ms)
  released <id> <mono_ns>     the release returned (our node is deleted)
  done                        after all rounds; then the client is closed and we exit 0
Any error: one line on stderr, exit 1. SIGTERM: default action, the process ends at once.
kazoo's own logging is off unless ZK_INTEROP_LOG=1 (then WARNING and up go to stderr).
"""

import argparse
import logging
import os
import sys
import threading
import time

from kazoo.client import KazooClient


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(message)


def parse(argv):
    p = _Parser(add_help=False)
    p.add_argument("--hosts", required=True)
    p.add_argument("--recipe", required=True,
                   choices=["mutex", "read", "write", "semaphore", "election"])
    p.add_argument("--path", required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--max", type=int, default=1)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--hold-ms", type=int, default=0)
    p.add_argument("--session-ms", type=int, default=4000)
    p.add_argument("--hold-forever", action="store_true")
    a = p.parse_args(argv)
    if not a.path.startswith("/"):
        raise ValueError("--path must start with /")
    return a


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def contender(client, a):
    """An object with acquire() (blocks until held) and release()."""
    if a.recipe == "mutex":
        return client.Lock(a.path, a.id)
    if a.recipe == "read":
        return client.ReadLock(a.path, a.id)
    if a.recipe == "write":
        return client.WriteLock(a.path, a.id)
    if a.recipe == "semaphore":
        return client.Semaphore(a.path, identifier=a.id, max_leases=a.max)
    return client.Election(a.path, a.id).lock


def run(a):
    client = KazooClient(hosts=a.hosts, timeout=a.session_ms / 1000.0)
    client.start(timeout=15)
    say("ready")
    c = contender(client, a)
    for _ in range(1 if a.hold_forever else a.rounds):
        if not c.acquire():
            raise RuntimeError("acquire returned False")
        say("acquired %s %d" % (a.id, time.monotonic_ns()))
        if a.hold_forever:
            threading.Event().wait()
        if a.hold_ms > 0:
            time.sleep(a.hold_ms / 1000.0)
        say("releasing %s %d" % (a.id, time.monotonic_ns()))
        c.release()
        say("released %s %d" % (a.id, time.monotonic_ns()))
    say("done")
    client.stop()
    client.close()


def main():
    kazoo_log = logging.getLogger("kazoo")
    if os.environ.get("ZK_INTEROP_LOG") == "1":
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    else:
        kazoo_log.addHandler(logging.NullHandler())
        kazoo_log.propagate = False
    try:
        run(parse(sys.argv[1:]))
    except BaseException as e:  # noqa: BLE001 -- any error: one line, exit 1
        sys.stderr.write("zk_interop error: %s: %s\n" % (type(e).__name__, str(e).replace("\n", " ")))
        sys.stderr.flush()
        os._exit(1)  # kazoo's threads must not keep us alive
    return 0


if __name__ == "__main__":
    sys.exit(main())
