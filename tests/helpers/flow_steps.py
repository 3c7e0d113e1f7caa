"""The declared steps of every flow, for the static checks (unit) and the walk (flows)."""

from __future__ import annotations

from collections.abc import Iterator

from bot.routing import Router, StepSpec
from handlers import routers

ROUTERS: list[Router] = [*routers.ROUTERS, routers.HOME]


def specs() -> Iterator[tuple[Router, StepSpec]]:
    for router in ROUTERS:
        for flow in router.flows:
            for spec in flow.specs:
                yield router, spec
