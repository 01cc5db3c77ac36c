"""Embedded AWS for tests and the demo: moto where moto implements a service, our own stateful
emulator where it does not (WorkMail, Partner Central Account, SESv2 tenants / reputation
entities / recommendations / identities and MAIL FROM).

Both plug in below boto3 on botocore's ``before-send`` event, so code under test uses real boto3
clients, serializers, paginators, waiters and retry logic; no request leaves the process.

    from local.emulator import emulated_aws

    with emulated_aws() as emu:
        ses = boto3.client("sesv2")
        ses.create_tenant(TenantName="acme")
        emu.control.raise_finding(arn, "BOUNCE", "HIGH")   # what only AWS does
        emu.clock.advance(3600)                            # virtual time
"""

from __future__ import annotations

import functools
import logging
import os
import random
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import Any
from unittest import mock

import boto3
import boto3.session
import botocore.endpoint
import botocore.handlers
import botocore.retries.standard
import botocore.retryhandler
import botocore.session
import jsonpath_ng.ext
import moto.core.models
import moto.kms.models
import moto.sqs.models
from botocore.config import Config
from mailwarden import wiring
from mailwarden.aws import clients
from mailwarden.clock import set_default_clock
from moto import mock_aws

from . import boot  # noqa: F401  (first: before moto's Step Functions interpreter)
from .control import Control
from .core import INTERNAL_AGENT, Dispatcher
from .iam import Access, capture_params, state_machine_roles
from .lambda_ import LambdaService
from .limits import SQS_MESSAGE_LIMIT
from .partnercentral import PartnerCentral
from .protocol import ApiError
from .route53 import Route53Guard, motos_create_check_off
from .sandbox import SandboxClock
from .sesv2 import SesV2
from .stepfunctions import StepFunctionsRuntime, parse_json_path, virtual_stepfunctions
from .workmail import WorkMail

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

_ACTIVE: list[Dispatcher] = []
_MOTO_STUBBER: Any = moto.core.models.botocore_stubber
# moto's DynamoDB evaluates a condition and then writes, without a lock: concurrent conditional
# writes could both pass. AWS makes each item write atomic; so do we, by serializing its requests.
_ATOMIC_SERVICES = ("dynamodb",)
_ATOMIC = threading.RLock()


def _hook(event_name: str, request: Any, **kwargs: Any) -> Any:
    """The one ``before-send`` handler: ours first, else moto's (inert unless mock_aws is on).

    botocore calls every ``before-send`` handler and keeps the first non-None response, so moto's
    stubber cannot simply sit after ours: it would still run (and fail) on operations we emulate.
    We therefore take its place in BUILTIN_HANDLERS and call it only for what we do not handle.
    """
    if _ACTIVE:
        response = _ACTIVE[-1](event_name, request, **kwargs)
        if response is not None:
            return response
    parts = event_name.split(".")
    if len(parts) > 1 and parts[1] in _ATOMIC_SERVICES:
        with _ATOMIC:
            return _MOTO_STUBBER(event_name=event_name, request=request, **kwargs)
    return _MOTO_STUBBER(event_name=event_name, request=request, **kwargs)


def _route53_after_call(parsed: Any = None, model: Any = None, **_: Any) -> None:
    """Route 53 change propagation (``Route53Guard.after_call``) on what the caller receives."""
    if _ACTIVE and isinstance(parsed, dict) and model is not None:
        _ACTIVE[-1].emulator.route53.after_call(model.name, parsed)


_generate_private_key = moto.kms.models.generate_private_key
_symmetric_material = functools.cache(_generate_private_key)  # per key spec, once per process


def _private_key(key_spec: str) -> Any:
    """moto gives every KMS key an RSA private key, symmetric ones too (which AWS never lets sign or
    verify, so nothing reads it): 60-120 ms of CPU per ``CreateKey``. A symmetric key's unused one is
    made once per process, when first read (a process that never reads one, a ``--local`` command,
    makes none); an asymmetric key still gets its own."""
    if key_spec != "SYMMETRIC_DEFAULT" and not key_spec.startswith("HMAC_"):
        return _generate_private_key(key_spec)
    return _UnreadKey(key_spec)


class _UnreadKey:
    """A symmetric key's RSA key as moto keeps it: made (once per process and spec) on first use."""

    def __init__(self, key_spec: str) -> None:
        self._spec = key_spec

    def __getattr__(self, name: str) -> Any:
        return getattr(_symmetric_material(self._spec), name)


moto.kms.models.generate_private_key = _private_key


def _install_hook() -> None:
    """Ours in botocore's built-in handlers: the ``before-send`` dispatcher, and the capture of each
    call's parameters for IAM (``before-parameter-build``; the request context carries them on)."""
    handlers = botocore.handlers.BUILTIN_HANDLERS
    ours = (_MOTO_STUBBER, _hook, _route53_after_call, capture_params)
    handlers[:] = [h for h in handlers if not (len(h) > 1 and h[1] in ours)]
    handlers.append(("before-parameter-build", capture_params))
    handlers.append(("before-send", _hook))
    for operation in ("ChangeResourceRecordSets", "GetChange"):
        handlers.append((f"after-call.route-53.{operation}", _route53_after_call))


_install_hook()


_INTERNAL_CLIENTS: dict[tuple[str, str], Any] = {}
_INTERNAL_LOCK = threading.Lock()


def _internal_client(name: str, region: str) -> Any:
    """The harness's own client for ``name``, made once per process on the process's session
    (``mailwarden.aws.clients.session``; 5-8 ms a client, ten per deployment): a client keeps no
    emulator state (its calls reach the active emulator through ``_hook``, its credentials are every
    emulator's, its legacy-mode retries keep no quota) and nothing registers handlers on these."""
    key = (name, region)
    with _INTERNAL_LOCK:
        if key not in _INTERNAL_CLIENTS:
            config = Config(user_agent_extra=INTERNAL_AGENT)
            _INTERNAL_CLIENTS[key] = clients.session().client(name, region_name=region, config=config)
        return _INTERNAL_CLIENTS[key]


class Emulator:
    """State and control for one ``emulated_aws()`` context."""

    def __init__(self, clock: SandboxClock, region: str, account: str, stepfunctions: StepFunctionsRuntime) -> None:
        self.clock = clock
        self.stepfunctions = stepfunctions  # the Step Functions executor's measurements (stats())
        self.region = region
        self.account = account
        self.control = Control(self)
        self.sesv2 = SesV2(self)
        self.workmail = WorkMail(self)
        self.partnercentral = PartnerCentral(self)
        self.lambdas = LambdaService(self)
        self.route53 = Route53Guard(self)
        self.dispatcher = Dispatcher(self, [self.sesv2, self.workmail, self.partnercentral, self.lambdas])
        self.access = Access(account)  # IAM by execution: the local deployment installs the roles

    def acting_as(self, principal: str) -> Any:
        """Context manager: this thread's calls inside it are ``principal``'s (a role the local
        deployment installed: a function name, or a role ARN) and are authorized as IAM would."""
        return self.access.acting_as(principal)

    def client(self, name: str) -> Any:
        """A boto3 client for the emulator's and the local harness's own use (emitting events,
        reading Route 53, routing). Its calls are tagged so they never count as the code under
        test's: they land in ``internal_calls``, not ``calls``."""
        return _internal_client(name, self.region)

    def wait_until(self, condition: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
        """Until ``condition()`` is truthy (``timeout``: real seconds; Step Functions runs in moto's
        threads): looked at again whenever the emulator announces progress (time moved, an
        invocation or execution ended, a task was answered: ``SandboxClock.progress``), not every
        few milliseconds. Raises ``TimeoutError`` naming ``what``."""
        progress = self.clock.progress
        deadline = time.monotonic() + timeout
        while True:
            since = progress.mark()
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"gave up waiting for {what}")
            progress.wait(since)

    @property
    def calls(self) -> Any:
        """Counter of the AWS calls made by the code under test, keyed ``service.Operation``."""
        return self.dispatcher.calls

    @property
    def internal_calls(self) -> Any:
        """Counter of the calls the emulator and the local harness made themselves."""
        return self.dispatcher.internal_calls


@contextmanager
def emulated_aws(
    *,
    region: str = DEFAULT_REGION,
    start: datetime | None = None,
    ses_rate: float | None = 1.0,
    execute_state_machines: bool = True,
    seed: int = 7,
) -> Iterator[Emulator]:
    """Everything boto3 does inside this block goes to moto or the emulator, on a virtual clock.

    ``ses_rate`` is SES's management-API limit (requests/second, ``None`` for unlimited). ``seed``
    seeds botocore's retry jitter, so a throttled run waits the same virtual time every time.
    """
    clock = SandboxClock(start)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }
    # botocore's retry back-off sleeps through ``time.sleep`` in botocore.endpoint: on the
    # virtual clock a 30 %-throttled run waits in virtual seconds, not real ones.
    endpoint_time = types.SimpleNamespace(sleep=clock.sleep, time=clock.time)
    with ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ, env))
        stack.enter_context(mock.patch.object(botocore.endpoint, "time", endpoint_time))
        # SQS messages: 256 KiB (FACTS.md); moto's queues default to 1 MiB.
        stack.enter_context(mock.patch.object(moto.sqs.models, "MAXIMUM_MESSAGE_LENGTH", SQS_MESSAGE_LIMIT))
        # moto's EventBridge parses a target's InputTransformer paths on every event it delivers.
        stack.enter_context(mock.patch.object(jsonpath_ng.ext, "parse", parse_json_path))
        stack.enter_context(_seeded_retry_jitter(random.Random(seed)))
        config = {"stepfunctions": {"execute_state_machine": execute_state_machines}}
        stack.enter_context(mock_aws(config=config))  # type: ignore[call-overload]
        stack.enter_context(motos_create_check_off())
        stepfunctions = stack.enter_context(virtual_stepfunctions(clock))
        # moto's ASL interpreter logs every caught task error (a rejection, a timeout) at ERROR.
        sfn_log = logging.getLogger("moto.stepfunctions.parser")
        stack.callback(sfn_log.setLevel, sfn_log.level)
        sfn_log.setLevel(logging.CRITICAL)
        emu = Emulator(clock, region, DEFAULT_ACCOUNT, stepfunctions)
        stack.enter_context(state_machine_roles(emu.access))
        if ses_rate is not None:
            emu.dispatcher.set_rate_limit("sesv2", ses_rate)
        previous_clock = set_default_clock(clock)
        stack.callback(set_default_clock, previous_clock)
        wiring.reset()  # clients and deps built outside this block must not leak in (or out)
        stack.callback(wiring.reset)
        boto3.DEFAULT_SESSION = None
        _ACTIVE.append(emu.dispatcher)
        stack.callback(_ACTIVE.remove, emu.dispatcher)
        yield emu


@contextmanager
def _seeded_retry_jitter(rng: random.Random) -> Iterator[None]:
    """botocore draws its back-off jitter from the global ``random``: draw it from ``rng`` instead
    (standard mode binds the function at construction, legacy mode looks it up per call)."""
    original = botocore.retries.standard.ExponentialBackoff.__init__

    def seeded(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._random = rng.random

    with (
        mock.patch.object(botocore.retries.standard.ExponentialBackoff, "__init__", seeded),
        mock.patch.object(botocore.retryhandler, "random", rng),
    ):
        yield


__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_REGION", "ApiError", "Emulator", "emulated_aws"]
