"""What keeping connection preferences needs from the outside world (implemented in ``mailwarden.aws``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .model import Access, Current


class PreferencesApi(Protocol):
    def get(self, catalog: str) -> Current: ...

    def update(self, catalog: str, revision: int, target: Access) -> Current:
        """Raises ``Conflict`` when ``revision`` is no longer the current one."""
        ...


@dataclass(frozen=True)
class WideningRecord:
    """The latest widening approval asked for a catalog.

    ``state`` is REQUESTED while its execution may still decide (written just before it starts); any
    other state is an end, said by the workflow's steps (APPLIED, REJECTED, EXPIRED, STALE, HALTED,
    CONFLICTED, FAILED) or, when the execution ended without a step saying so, by the next run from
    the execution's status (STOPPED, FAILED, TIMED_OUT), or SUPERSEDED when a different change had to
    be asked. Only REQUESTED and REJECTED (of the same change) keep a run from asking."""

    fingerprint: str  # from what, to what (model.fingerprint)
    state: str
    execution: str  # the execution's ARN (known before it starts: the name is deterministic)
    attempts: int  # widening requests asked for this catalog so far (any change): names each execution


class WideningStore(Protocol):
    def load(self, catalog: str) -> WideningRecord | None: ...

    def save(self, catalog: str, record: WideningRecord, replaces: WideningRecord | None) -> bool:
        """Write ``record`` only if the stored record is still ``replaces`` (same execution and state;
        None: no record yet). False when another run or step changed it first."""
        ...


@dataclass(frozen=True)
class ExecutionStatus:
    """What DescribeExecution says about a widening execution."""

    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE
    error: str = ""
    cause: str = ""

    @property
    def running(self) -> bool:
        return self.status in ("RUNNING", "PENDING_REDRIVE")


class WideningWorkflows(Protocol):
    def execution_arn(self, name: str) -> str: ...

    def start(self, name: str, payload: dict[str, Any]) -> tuple[str, bool]:
        """Start the execution ``name``: (its ARN, False when an execution of that name existed)."""
        ...

    def describe(self, execution: str) -> ExecutionStatus | None: ...  # None: it was never started

    def stop(self, execution: str, cause: str) -> None: ...


class KillSwitch(Protocol):
    def engaged(self) -> bool: ...


class Reporter(Protocol):
    def report(self, detail_type: str, name: str, outcome: str, actor: str, detail: dict[str, Any]) -> None: ...

    def alert(self, subject: str, message: str) -> None: ...
