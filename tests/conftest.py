"""Shared fixtures: fake AWS credentials and region, no network, Powertools env and cache resets,
the emulator, a local deployment and a fake LambdaContext."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    POWERTOOLS_SERVICE_NAME="mailwarden",
    POWERTOOLS_METRICS_NAMESPACE="Mailwarden",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_DEV="false",
    # metrics are printed (EMF) so tests can read them; the demo and the benches turn them off for
    # a readable output, and their modules are imported at collection: this wins (setdefault there)
    POWERTOOLS_METRICS_DISABLED="false",
    JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
)

from local.deployment import LocalDeployment
from local.emulator import Emulator, emulated_aws, fidelity
from local.emulator.iam import LEDGER
from local.emulator.lambda_context import FakeLambdaContext

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "samples"
TEST_APPROVERS = ["Ops-Lead@example.com", "security@example.com"]


# ---------------------------------------------------------------------------- IAM by execution
# Every test fails if a function's call was denied (AccessDenied from its role's policies) or made an
# AWS call the IAM emulation has no mapping for, unless it is marked ``access_denied`` (it causes one on
# purpose and asserts it). MAILWARDEN_IAM_REPORT=<file> writes the session's totals there (bench/).


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_IAM_EXPECTED] = 0


_IAM_EXPECTED = pytest.StashKey[int]()
_IAM_SEEN = pytest.StashKey[tuple[int, int]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    item.stash[_IAM_SEEN] = (len(LEDGER.denials), len(LEDGER.unmapped))  # fixtures (module ones too) count
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    try:
        result = yield
    except BaseException:
        _iam_problems(item)  # the test failed anyway: its report shows them
        raise
    problems = _iam_problems(item)
    if problems:
        pytest.fail("IAM by execution:\n  " + "\n  ".join(problems), pytrace=False)
    return result


def _iam_problems(item: pytest.Item) -> list[str]:
    denials_at, unmapped_at = item.stash.get(_IAM_SEEN, (0, 0))
    denials, unmapped = LEDGER.denials[denials_at:], LEDGER.unmapped[unmapped_at:]
    expected = item.get_closest_marker("access_denied") is not None
    if expected:
        item.config.stash[_IAM_EXPECTED] += len(denials)
    problems = [f"AWS call without an IAM mapping: {u}" for u in unmapped]
    problems += [] if expected else [f"AccessDenied: {d}" for d in denials]
    if problems:
        item.add_report_section("call", "iam", "\n".join(problems))
    return problems


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With MAILWARDEN_IAM_REPORT: the session's IAM totals. Under pytest-xdist each worker writes
    its own part (``<report>.<worker>``) and the controller, which runs no test, adds them up."""
    report = os.environ.get("MAILWARDEN_IAM_REPORT")
    if not report:
        return
    expected = session.config.stash.get(_IAM_EXPECTED, 0)
    totals = {
        "denied_calls": len(LEDGER.denials) - expected,  # limits.iam.denied_calls: 0 for the shipped roles
        "deliberately_denied_calls": expected,  # tests marked access_denied (a statement removed, ...)
        "unmapped_calls": len(LEDGER.unmapped),
        "evaluated_calls": LEDGER.evaluated,
    }
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        Path(f"{report}.{worker}").write_text(json.dumps(totals))
        return
    for part in sorted(Path(report).parent.glob(Path(report).name + ".gw*")):
        for name, value in json.loads(part.read_text()).items():
            totals[name] += value
        part.unlink()
    Path(report).write_text(json.dumps(totals, indent=2) + "\n")


@pytest.fixture(scope="session")
def synth() -> Any:
    """The stack synthesized once per session (cdk.json context + two approvers, no bundling)."""
    from aws_cdk.assertions import Template

    from app import build_app

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context = {**context, "mailwarden:approverEmails": TEST_APPROVERS, "aws:cdk:bundling-stacks": []}
    app, stack = build_app(context)
    app.synth()
    return stack, Template.from_stack(stack)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may silently reach AWS: only loopback and Unix sockets (jsii) are allowed."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family == socket.AF_UNIX or (
            isinstance(address, tuple) and address[0] in ("127.0.0.1", "::1", "localhost")
        ):
            return real_connect(self, address)
        raise RuntimeError(f"network disabled in tests: connect to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def reset_powertools() -> Iterator[None]:
    from aws_lambda_powertools.metrics.provider import cold_start
    from mailwarden.observability import metrics

    metrics.clear_metrics()
    cold_start.is_cold_start = True
    yield
    metrics.clear_metrics()


@pytest.fixture(autouse=True)
def emulator_answers_as_modelled() -> Iterator[None]:
    """No test passes in which the emulator answered an error the operation's model does not list
    (nor a common or documented known one), or was asked for an operation it does not implement
    (``local.emulator.fidelity``): code that passes here must not meet a different answer in AWS."""
    fidelity.drain()
    yield
    notes = fidelity.drain()
    if notes:
        pytest.fail("the emulator deviated from the service models:\n" + "\n".join(notes), pytrace=False)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with emulated_aws() as e:
        yield e


@pytest.fixture
def deployment(emu: Emulator) -> LocalDeployment:
    return LocalDeployment(emu)


@pytest.fixture
def lambda_context(emu: Emulator) -> FakeLambdaContext:
    return FakeLambdaContext(clock=emu.clock)


def sample(name: str) -> dict[str, Any]:
    """One of the reference events (copied from shared/reference/events into tests/samples)."""
    return json.loads((SAMPLES / f"{name}.json").read_text())  # type: ignore[no-any-return]
