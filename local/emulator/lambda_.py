"""Lambda ``Invoke`` dispatched to in-repo handlers (moto would need Docker to run a function).

The local deployment registers each ``functions/<name>/handler.py`` under its function name;
Step Functions tasks (``arn:aws:states:::lambda:invoke``) and anything else that invokes a
function reach it through real boto3 calls. An unhandled exception becomes what Lambda returns:
``X-Amz-Function-Error: Unhandled`` and an ``errorType`` / ``errorMessage`` payload, which Step
Functions turns into the task error (so ``Catch``/``Retry`` see the exception's class name). A
function stopped at its timeout (``sandbox.LambdaTimedOut``) reports ``Sandbox.Timedout``, as
current runtimes do. Payloads are limited as Lambda limits them: 6 MB for a RequestResponse
request or response, 256 KB for an Event request (``RequestTooLargeException``, 413; a response
over the limit is the function error ``Function.ResponseSizeTooLarge``).
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Callable
from typing import Any

from .core import EmulatedService, operation
from .protocol import ApiError, RawResult
from .sandbox import SYNC_PAYLOAD_LIMIT, TIMEOUT_ERROR, LambdaTimedOut, payload_too_large

Function = Callable[[Any], Any]
_NAME = re.compile(r"^(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?([A-Za-z0-9_-]{1,64})(?::[$\w-]+)?$")


class LambdaService(EmulatedService):
    service_name = "lambda"
    validation_error = "InvalidParameterValueException"
    throttle_error = "TooManyRequestsException"
    internal_error = "ServiceException"

    def __init__(self, emulator: Any) -> None:
        super().__init__(emulator)
        self.functions: dict[str, Function] = {}
        self.invocations: list[dict[str, Any]] = []  # {"function", "event", "done"}

    def register(self, name: str, fn: Function) -> str:
        self.functions[name] = fn
        return f"arn:aws:lambda:{self.emulator.region}:{self.emulator.account}:function:{name}"

    def __contains__(self, name: str) -> bool:
        return name in self.functions

    @operation("Invoke")
    def invoke(self, p: dict[str, Any]) -> RawResult:
        match = _NAME.match(p["FunctionName"])
        name = match.group(1) if match else ""
        if name not in self.functions:
            raise ApiError(
                "ResourceNotFoundException", f"Function not found: {p['FunctionName']}", status=404, Type="User"
            )
        raw = p.get("Payload") or b"{}"
        asynchronous = p.get("InvocationType") == "Event"
        too_large = payload_too_large(len(raw), asynchronous)
        if too_large:
            raise ApiError("RequestTooLargeException", too_large, status=413, Type="User")
        try:
            event = json.loads(raw)
        except ValueError as exc:
            raise ApiError("InvalidRequestContentException", f"Could not parse request body into json: {exc}") from exc
        record = {"function": name, "event": event, "done": False}
        self.invocations.append(record)
        result = self._run(name, event)
        record["done"] = True
        if asynchronous:  # asynchronous in AWS; local runs finish before the call returns
            return RawResult(202, {}, b"")
        return result

    def _run(self, name: str, event: Any) -> RawResult:
        try:
            result = self.functions[name](event)
        except LambdaTimedOut as stopped:
            return function_error({"errorType": TIMEOUT_ERROR, "errorMessage": stopped.message})
        except Exception as exc:  # noqa: BLE001 -- what Lambda reports for an unhandled error
            return function_error(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exception(exc)[-5:],
                }
            )
        body = json.dumps(result, default=str).encode()
        if len(body) > SYNC_PAYLOAD_LIMIT:
            return function_error(
                {
                    "errorType": "Function.ResponseSizeTooLarge",
                    "errorMessage": f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size "
                    f"({SYNC_PAYLOAD_LIMIT} bytes).",
                }
            )
        return RawResult(200, {"X-Amz-Executed-Version": "$LATEST"}, body)


def function_error(payload: dict[str, Any]) -> RawResult:
    """Invoke's answer for a function error: 200, ``X-Amz-Function-Error: Unhandled``, the error payload."""
    return RawResult(
        200,
        {"X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST"},
        json.dumps(payload).encode(),
    )
