"""Hypothesis builds a state machine itself, without pytest's fixtures: a machine reaches its
module's shared deployment through :func:`deployment`, held while the module's tests run by the
``machine_deployment`` fixture (``pytestmark = pytest.mark.usefixtures("machine_deployment")``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from local.deployment import LocalDeployment

_HELD: dict[str, LocalDeployment] = {}


def deployment() -> LocalDeployment:
    return _HELD["d"]


@contextmanager
def holding(d: LocalDeployment) -> Iterator[LocalDeployment]:
    _HELD["d"] = d
    try:
        yield d
    finally:
        _HELD.clear()
