"""A separate process appending to the audit log, for the concurrency tests and benchmark:
``python -m tests.audit.append_worker URL KEY_HEX TENANTS N THREADS`` says "ready", waits
for a line on stdin (so that several workers start together), appends N records from each
of THREADS threads (round-robin over the comma-separated TENANTS) and prints how many."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

from audit.log import AuditLog
from rag.db import make_engine
from tests.audit.events import event


def main(url: str, key_hex: str, tenants: str, n: str, threads: str) -> None:
    log = AuditLog(make_engine(url), bytes.fromhex(key_hex))
    names = tenants.split(",")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()

    def work(t: int) -> int:
        for i in range(int(n)):
            log.append(event(i, names[(t + i) % len(names)]))
        return int(n)

    with ThreadPoolExecutor(int(threads)) as pool:
        done = sum(pool.map(work, range(int(threads))))
    sys.stdout.write(f"{done}\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
