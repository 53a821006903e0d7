"""Key lookups run on threads of their own, so a caller who fills the default thread pool
with heavy work (PII detection, embedding) cannot lock every tenant out."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from rag.api.admission import lookup_key
from rag.db import create_schema, make_engine
from rag.keys import KeyStore
from rag.tenants import SqlTenantRegistry


async def test_a_key_is_checked_while_the_default_pool_is_busy(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    create_schema(engine)
    SqlTenantRegistry(engine).create("acme")
    keys = KeyStore(engine)
    issued = keys.create("acme", "user")
    loop = asyncio.get_running_loop()
    release = threading.Event()
    # More blocked jobs than the default pool has threads (at most 32): all of them busy.
    busy = [loop.run_in_executor(None, release.wait, 30) for _ in range(40)]
    try:
        principal = await asyncio.wait_for(lookup_key(keys, issued.secret), timeout=5)
    finally:
        release.set()
        await asyncio.gather(*busy)
    assert principal is not None and principal.tenant == "acme"
