"""Where the CLI acts: a deployed stack (found by its CloudFormation outputs, with the usual
credential chain, ``--profile`` and ``--region``) or the embedded emulator (``--local``).

Both give boto3 clients, the deployed names (by output key, ``contracts.outputs``), a way to invoke
a function with the event EventBridge would deliver, and the MAIL FROM API."""

from __future__ import annotations

import gc
import getpass
import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Protocol, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from ..contracts.metrics import SERVICE
from ..contracts.outputs import Output, function_output
from .render import CliError, ExitCode

TOKEN_ENV = "MAILWARDEN_API_TOKEN"


class Target(Protocol):
    description: str

    def client(self, service: str) -> Any: ...

    def output(self, key: str) -> str: ...

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]: ...

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]: ...

    def caller(self) -> str: ...

    def settle(self) -> None:
        """Let what was started make progress (the emulator delivers pending events)."""
        ...

    def pause(self) -> None: ...


def access_error(exc: Exception, what: str) -> CliError:
    """A boto3 failure as an error that says what to do."""
    if isinstance(exc, NoCredentialsError):
        return CliError(
            ExitCode.ACCESS,
            "No AWS credentials found. Configure them (aws configure / aws sso login), pass --profile, "
            "or try the emulator with --local.",
        )
    if isinstance(exc, NoRegionError):
        return CliError(ExitCode.USAGE, "No AWS region: pass --region or set AWS_REGION.")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "ExpiredToken"):
            return CliError(
                ExitCode.ACCESS,
                f"{what}: {code}: {message}. Your role needs the operator permissions listed in README "
                "'Deploying' (or refresh expired credentials).",
            )
        return CliError(ExitCode.FAILED, f"{what}: {code}: {message}")
    return CliError(ExitCode.FAILED, f"{what}: {exc}")


class AwsTarget:
    def __init__(self, stack: str, region: str | None, profile: str | None) -> None:
        try:
            self.session = boto3.session.Session(profile_name=profile, region_name=region)
        except BotoCoreError as exc:  # an unknown profile
            raise CliError(ExitCode.ACCESS, f"{exc}. List profiles with `aws configure list-profiles`.") from exc
        self.stack = stack
        self.description = f"stack {stack} in {self.session.region_name or '(no region)'}"
        self._clients: dict[str, Any] = {}
        self._outputs: dict[str, str] | None = None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            try:
                self._clients[service] = self.session.client(service)
            except NoRegionError as exc:
                raise access_error(exc, service) from exc
        return self._clients[service]

    def output(self, key: str) -> str:
        if self._outputs is None:
            try:
                stacks = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"]
            except ClientError as exc:
                if "does not exist" in str(exc):
                    raise CliError(
                        ExitCode.NOT_FOUND,
                        f"No stack {self.stack} in {self.session.region_name}. Deploy it (README 'Deploying'), or "
                        "pass --stack and --region for the one you deployed.",
                    ) from exc
                raise access_error(exc, "DescribeStacks") from exc
            except BotoCoreError as exc:
                raise access_error(exc, "DescribeStacks") from exc
            self._outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        if key not in self._outputs:
            raise CliError(
                ExitCode.NOT_FOUND,
                f"Stack {self.stack} has no output {key}: it predates this CLI. Deploy the current version.",
            )
        return self._outputs[key]

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        name = self.output(function_output(function))
        try:
            out = self.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
        except (ClientError, BotoCoreError) as exc:
            raise access_error(exc, f"Invoke {name}") from exc
        payload = json.loads(out["Payload"].read() or b"null")
        if out.get("FunctionError"):
            raise CliError(
                ExitCode.FAILED,
                f"{function} failed: {payload.get('errorMessage', payload)}. "
                f"Its log group /aws/lambda/{name} says why.",
            )
        return dict(payload or {})

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        token = os.environ.get(TOKEN_ENV)
        if not token:
            raise CliError(
                ExitCode.ACCESS,
                f"The MAIL FROM API needs a bearer token from your identity provider (scope "
                f"mailwarden/mail-from.read or .write): set {TOKEN_ENV}.",
            )
        url = self.output(Output.MAIL_FROM_API).rstrip("/") + path
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def caller(self) -> str:
        try:
            return str(self.client("sts").get_caller_identity()["Arn"])
        except (ClientError, BotoCoreError):
            return getpass.getuser()

    def settle(self) -> None:
        return None

    def pause(self) -> None:
        time.sleep(2.0)


def _import_local() -> None:
    """``local`` (the emulator) lives in the repository, next to the package's source."""
    root = Path(__file__).resolve().parents[5]
    if not (root / "local" / "deployment.py").exists():
        raise CliError(
            ExitCode.USAGE,
            "--local needs a Mailwarden checkout (the emulator is not part of the package): clone the repository "
            "and run `make install`, then `.venv/bin/mailwarden --local ...`.",
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


class LocalTarget:
    """A :class:`local.deployment.LocalDeployment`: the stack's resources, built from the same
    contracts, on the embedded emulator."""

    def __init__(self, deployment: Any) -> None:
        self.d = deployment
        self.description = "the local emulator"
        self.estate: dict[str, str] = {}  # what the sample estate holds (organization id, identity)
        self.names = deployment.outputs()
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._since = 0

    def client(self, service: str) -> Any:
        """The operator's clients: one session (made inside the emulator, with its credentials)."""
        if service not in self._clients:
            self._session = self._session or boto3.session.Session()
            self._clients[service] = self._session.client(service)
        return self._clients[service]

    def output(self, key: str) -> str:
        return self.names[key]

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        return dict(self.d.invoke(function, event) or {})

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = self.d.api(method, path, body, scopes=("mailwarden/mail-from.read", "mailwarden/mail-from.write"))
        return response.status, response.json()

    def caller(self) -> str:
        return f"{getpass.getuser()}@local"

    def decide(self, execution_arn: str, decision: str, approver: str) -> int:
        """What an approver does in the emailed link: open it, press the button (the POST)."""
        return int(self.d.decide_by_link(execution_arn, decision, approver or None))

    def settle(self) -> None:
        self._since = self.d.emu.clock.progress.mark()  # before looking: a change after it ends the pause
        self.d.deliver()

    def pause(self) -> None:
        """Until the emulator announces progress since the last ``settle`` (an execution or invocation
        ended, time moved; at most 20 ms), not a fixed 20 ms: a follow loop looks again when there is news."""
        self.d.emu.clock.progress.wait(self._since)


@contextmanager
def function_logs_to(sink: TextIO) -> Iterator[None]:
    """The functions' logs, EMF metrics and warnings (stdout and stderr in Lambda, which go to
    CloudWatch Logs) go to ``sink``, not the CLI's output."""
    handlers = [h for h in logging.getLogger(SERVICE).handlers if isinstance(h, logging.StreamHandler)]
    before = [h.setStream(sink) for h in handlers]
    try:
        with redirect_stdout(sink), redirect_stderr(sink):
            yield
    finally:
        for h, stream in zip(handlers, before, strict=True):
            h.setStream(stream)


@contextmanager
def local_target(verbose: bool = False, seed: bool = True) -> Iterator[LocalTarget]:
    """A fresh emulator with the stack installed (and the sample estate, unless ``seed`` is False).
    The functions' logs go to stderr with ``verbose``, nowhere otherwise."""
    with ExitStack() as stack:
        # A short-lived process that builds tens of thousands of objects it keeps (the emulator's
        # modules and models, then its state): the collector's default thresholds spend a tenth of
        # the command scanning them, the imports included.
        stack.callback(gc.set_threshold, *gc.get_threshold())
        gc.set_threshold(50_000, 50, 1000)
        _import_local()
        from local.deployment import LocalDeployment
        from local.emulator import emulated_aws
        from local.sample import sample_policy, seed_estate

        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")  # Powertools' "no metrics to publish" and the like
        sink = sys.stderr if verbose else stack.enter_context(open(os.devnull, "w"))
        stack.enter_context(function_logs_to(sink))
        emu = stack.enter_context(emulated_aws())
        deployment = LocalDeployment(emu, policy=sample_policy() if seed else None)
        target = LocalTarget(deployment)
        if seed:
            target.estate = seed_estate(deployment)
        yield target
