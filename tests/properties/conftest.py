"""Property tests: one emulator and one local deployment per module (never one per generated case),
and a closing line with the number of generated cases per property."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.deployment import LocalDeployment
from local.emulator import emulated_aws
from tests.properties.mutations import CASES, REFUSED
from tests.properties.stateful import holding


@pytest.fixture(scope="module")
def shared() -> Iterator[LocalDeployment]:
    with emulated_aws() as emu:
        yield LocalDeployment(emu)


@pytest.fixture(scope="module")
def machine_deployment(shared: LocalDeployment) -> Iterator[LocalDeployment]:
    """``shared``, reachable from the module's state machines (tests/properties/stateful.py)."""
    with holding(shared) as d:
        yield d


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not CASES:
        return
    terminalreporter.section("generated cases (hypothesis, schemathesis)")
    for name, n in sorted(CASES.items()):
        terminalreporter.line(f"{name:<48} {n:>6} cases, {REFUSED[name]:>6} refused with a reason")
    terminalreporter.line(f"{'total':<48} {sum(CASES.values()):>6} cases")
