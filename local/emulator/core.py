"""The dispatcher that sits on botocore's ``before-send`` event, ahead of moto.

For an operation one of our emulated services implements, it parses the request with the
service's botocore model, applies rate limits and injected faults, validates, runs the
stateful handler and returns a real HTTP-shaped response for botocore to parse. Every other
request returns ``None`` and falls through to moto.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.model import ServiceModel

from . import fidelity, limits
from .protocol import ApiError, error_response, error_status, paginate, parse_request, success_response, validate
from .sandbox import check_deadline

if TYPE_CHECKING:
    from mailwarden.clock import VirtualClock

    from . import Emulator

Handler = Callable[[Any, dict[str, Any]], Any]  # a result dict, None, or a protocol.RawResult

# User-agent marker of the emulator's and the local harness's own clients (see Emulator.client).
INTERNAL_AGENT = "mailwarden-emulator-internal"

_MODELS: dict[str, ServiceModel] = {}
_MODEL_LOCK = threading.Lock()


def service_model(name: str) -> ServiceModel:
    with _MODEL_LOCK:
        if name not in _MODELS:
            _MODELS[name] = botocore.session.get_session().get_service_model(name)
        return _MODELS[name]


# Event names carry the hyphenized service id; where it differs from the client name:
_CLIENT_NAME = {
    "sfn": "stepfunctions",
    "eventbridge": "events",
    "secrets-manager": "secretsmanager",
    "route-53": "route53",
}


def model_for_service_id(service_id: str) -> ServiceModel:
    """The model of the service whose hyphenized service id (as in event names) is ``service_id``."""
    model = service_model(_CLIENT_NAME.get(service_id, service_id))
    if model.service_id.hyphenize() != service_id:
        raise KeyError(f"no client name known for service id {service_id}")
    return model


def operation(name: str) -> Callable[[Handler], Handler]:
    """Mark a method of an :class:`EmulatedService` as the implementation of ``name``."""

    def mark(fn: Handler) -> Handler:
        fn._emulates = name  # type: ignore[attr-defined]
        return fn

    return mark


class EmulatedService:
    """Base for a stateful emulated AWS service. Subclasses set the class attributes."""

    service_name: str = ""
    validation_error: str = "ValidationException"
    throttle_error: str = "ThrottlingException"
    throttle_status: int = 429
    internal_error: str = "InternalServerException"
    token_error: str = "ValidationException"
    state_lock: threading.RLock

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.model = service_model(self.service_name)
        self.state_lock = threading.RLock()
        self.handlers: dict[str, Handler] = {}
        for attr in dir(type(self)):
            fn = getattr(type(self), attr)
            name = getattr(fn, "_emulates", None)
            if name:
                if name not in self.model.operation_names:
                    raise RuntimeError(f"{self.service_name} has no operation {name}")
                self.handlers[name] = fn

    @property
    def clock(self) -> VirtualClock:
        return self.emulator.clock

    def page(
        self, items: list[Any], params: dict[str, Any], *, size_key: str, default: int, maximum: int
    ) -> tuple[list[Any], str | None]:
        return paginate(
            items,
            params.get("NextToken"),
            params.get(size_key),
            default=default,
            maximum=maximum,
            token_error=self.token_error,
        )

    def invalid(self, message: str, **fields: Any) -> ApiError:
        return ApiError(self.validation_error, message, **fields)


@dataclass
class TokenBucket:
    """A per-service request-rate limit on the virtual clock (AWS-style: refill ``rate``/s)."""

    rate: float
    burst: float
    tokens: float = -1.0
    last: float = 0.0

    def take(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.last = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0 - 1e-6:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class FaultSpec:
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    latency: float = 0.0


@dataclass
class Faults:
    """Fault injection per ``service`` / ``service.Operation`` (the more specific one wins)."""

    seed: int = 7
    specs: dict[str, FaultSpec] = field(default_factory=dict)
    stalls: dict[str, list[float]] = field(default_factory=dict)  # key -> [calls to let pass, extra seconds]
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def inject(
        self,
        service: str,
        operation: str = "*",
        *,
        throttle_rate: float = 0.0,
        error_rate: float = 0.0,
        latency: float = 0.0,
    ) -> None:
        for rate in (throttle_rate, error_rate):
            if not 0.0 <= rate <= 1.0:
                raise ValueError("rates are fractions between 0 and 1")
        self.specs[f"{service}.{operation}"] = FaultSpec(throttle_rate, error_rate, latency)

    def clear(self) -> None:
        self.specs.clear()
        self.stalls.clear()

    def stall(self, service: str, operation: str, seconds: float, after: int = 0) -> None:
        """The call to ``service.operation`` after the next ``after`` ones takes ``seconds`` more (once)."""
        self.stalls[f"{service}.{operation}"] = [after, seconds]

    def stall_for(self, service: str, operation: str) -> float:
        """Extra latency of this call (0 for all but the one a ``stall`` chose)."""
        pending = self.stalls.get(f"{service}.{operation}")
        if pending is None:
            return 0.0
        if pending[0] > 0:
            pending[0] -= 1
            return 0.0
        del self.stalls[f"{service}.{operation}"]
        return float(pending[1])

    def for_call(self, service: str, operation: str) -> FaultSpec | None:
        return self.specs.get(f"{service}.{operation}") or self.specs.get(f"{service}.*")

    def draw(self, service: str, operation: str) -> str | None:
        """``"throttle"``, ``"error"`` or None for one call (latency is the caller's to apply)."""
        spec = self.for_call(service, operation)
        if spec is None:
            return None
        roll = self.rng.random()
        if roll < spec.throttle_rate:
            return "throttle"
        return "error" if roll < spec.throttle_rate + spec.error_rate else None


class Dispatcher:
    """Routes ``before-send`` events to emulated services; counts every call it sees."""

    def __init__(self, emulator: Emulator, services: Iterable[EmulatedService]) -> None:
        self.emulator = emulator
        self.services = {s.model.service_id.hyphenize(): s for s in services}
        self.limits: dict[str, TokenBucket] = {}
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.internal_calls: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self._lock = threading.Lock()

    def set_rate_limit(self, service: str, rate: float | None, burst: float = 1.0) -> None:
        if rate is None:
            self.limits.pop(service, None)
        else:
            self.limits[service] = TokenBucket(rate=rate, burst=burst)

    def __call__(self, event_name: str, request: Any, **_: Any) -> AWSResponse | None:
        parts = event_name.split(".")
        if len(parts) < 3:
            return None
        service_id, op_name = parts[1], parts[2]
        agent = request.headers.get("User-Agent", b"")
        internal = INTERNAL_AGENT in (agent.decode() if isinstance(agent, bytes) else agent)
        if not internal:
            check_deadline(self.emulator.clock)  # a stopped Lambda sandbox sends nothing
        with self._lock:
            (self.internal_calls if internal else self.calls)[f"{service_id}.{op_name}"] += 1
        if not internal and self.emulator.access.current() is not None:
            op = model_for_service_id(service_id).operation_model(op_name)
            denied = self.emulator.access.deny(service_id, op, request)
            if denied is not None:
                response, code = denied
                self.count(f"{service_id}.{op_name}:{code}")
                return response
        service = self.services.get(service_id)
        if service is not None and op_name not in service.handlers:
            fidelity.note_unimplemented(service_id, op_name)
        if service is None or op_name not in service.handlers:
            too_large = limits.check(service_id, op_name, request)
            if too_large is not None:
                op = model_for_service_id(service_id).operation_model(op_name)
                self.count(f"{service_id}.{op_name}:{too_large.code}")
                return error_response(op, request.url, too_large)
            fault = None if internal else self._moto_fault(service_id, op_name, request.url)
            if fault is None and service_id == "route-53":
                fault = self.emulator.route53(op_name, request, internal)
            return fault  # None: moto's turn
        op = service.model.operation_model(op_name)
        try:
            if not internal:
                self._admit(service, service_id, op_name)
            params = parse_request(op, request, service.validation_error)
            problems = validate(op.input_shape, params)
            if problems:
                raise service.invalid("; ".join(problems), Reason="REQUEST_VALIDATION_FAILED")
            with service.state_lock:
                result = service.handlers[op_name](service, params)
            self.count(f"{service_id}.{op_name}:ok")
            return success_response(op, request.url, result)
        except ApiError as err:
            if err.status == 400:
                err.status = error_status(op, err.code, 400)
            self.count(f"{service_id}.{op_name}:{err.code}")
            return error_response(op, request.url, err)

    def _moto_fault(self, service_id: str, op_name: str, url: str) -> AWSResponse | None:
        """Injected latency and faults for moto-backed services: throttling or a 500."""
        self._delay(service_id, op_name)
        fault = self.faults.draw(service_id, op_name)
        if fault is None:
            return None
        op = model_for_service_id(service_id).operation_model(op_name)
        if fault == "throttle":
            code = "Throttling" if op.metadata["protocol"] in ("rest-xml", "query") else "ThrottlingException"
            err = ApiError(code, "Rate exceeded (injected)", status=400)
        else:
            err = ApiError("InternalFailure", "Internal failure (injected)", status=500)
        self.count(f"{service_id}.{op_name}:{err.code}")
        return error_response(op, url, err)

    def _delay(self, service_id: str, op_name: str) -> None:
        """Injected latency (every call) and a one-off stall, on the virtual clock."""
        spec = self.faults.for_call(service_id, op_name)
        extra = (spec.latency if spec is not None else 0.0) + self.faults.stall_for(service_id, op_name)
        if extra:
            self.emulator.clock.sleep(extra)

    def count(self, key: str) -> None:
        with self._lock:
            self.outcomes[key] += 1

    def _admit(self, service: EmulatedService, service_id: str, op_name: str) -> None:
        """Injected latency and faults, then the rate limit: for the code under test only. The
        harness's own reads (``Emulator.client``) neither spend its tokens nor get throttled, so an
        assertion never depends on botocore's random retry back-off."""
        clock = self.emulator.clock
        self._delay(service_id, op_name)
        fault = self.faults.draw(service_id, op_name)
        if fault == "throttle":
            raise ApiError(service.throttle_error, "Rate exceeded (injected)", status=service.throttle_status)
        if fault == "error":
            raise ApiError(service.internal_error, "Internal failure (injected)", status=500)
        bucket = self.limits.get(service_id)
        if bucket is not None:
            with self._lock:
                admitted = bucket.take(clock.time())
            if not admitted:
                raise ApiError(
                    service.throttle_error,
                    f"Maximum sending rate exceeded: {bucket.rate:g} request(s) per second.",
                    status=service.throttle_status,
                )
