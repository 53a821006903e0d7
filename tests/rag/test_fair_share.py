"""Turns by tenant: a freed slot goes to the waiting tenant with the fewest running, one
tenant alone may take every slot, and a cancelled waiter neither holds nor loses a slot."""

from __future__ import annotations

import asyncio

import pytest

from rag.fair_share import FairShare


async def _step(share: FairShare, tenant: str, order: list[str], gate: asyncio.Event) -> None:
    async with share.turn(tenant):
        order.append(tenant)
        await gate.wait()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_another_tenants_one_request_goes_before_the_rest_of_a_queue() -> None:
    share, order, gate = FairShare(slots=1), [], asyncio.Event()
    heavy = [asyncio.create_task(_step(share, "heavy", order, gate)) for _ in range(5)]
    await _settle()
    light = asyncio.create_task(_step(share, "light", order, gate))  # arrives last
    await _settle()
    gate.set()
    await asyncio.gather(*heavy, light)
    assert order[:2] == ["heavy", "light"]  # the one running, then the other tenant's
    assert share.running == {} and share.busy == 0 and share._last == {}


async def test_one_tenant_alone_takes_every_slot() -> None:
    share, order, gate = FairShare(slots=3), [], asyncio.Event()
    tasks = [asyncio.create_task(_step(share, "solo", order, gate)) for _ in range(4)]
    await _settle()
    assert share.running["solo"] == 3 and len(order) == 3
    gate.set()
    await asyncio.gather(*tasks)
    assert len(order) == 4


async def test_a_cancelled_waiter_gives_its_place_on() -> None:
    share, order, gate = FairShare(slots=1), [], asyncio.Event()
    first = asyncio.create_task(_step(share, "a", order, gate))
    await _settle()
    gone = asyncio.create_task(_step(share, "b", order, gate))
    after = asyncio.create_task(_step(share, "c", order, gate))
    await _settle()
    gone.cancel()
    gate.set()
    await asyncio.gather(first, after)
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert order == ["a", "c"] and share.busy == 0 and share._last == {}


async def test_cancelled_after_its_turn_was_granted_passes_the_slot_on() -> None:
    share, order, gate = FairShare(slots=1), [], asyncio.Event()
    first = asyncio.create_task(_step(share, "a", order, gate))
    await _settle()
    granted = asyncio.create_task(_step(share, "b", order, gate))
    waiting = asyncio.create_task(_step(share, "c", order, gate))
    await _settle()
    gate.set()
    await first  # the slot is granted to b; b is cancelled before it runs
    granted.cancel()
    await asyncio.gather(waiting)
    assert "c" in order and share.busy == 0 and share.running == {}


def test_at_least_one_slot() -> None:
    with pytest.raises(ValueError):
        FairShare(0)
