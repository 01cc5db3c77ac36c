"""Resumes a waiting Step Functions task. TaskTimedOut/TaskDoesNotExist -> TaskClosed,
InvalidToken -> InvalidTaskToken; anything transient propagates (the caller retries)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from .errors import translate

CAUSE_MAX = 32_768


class StepFunctionsResumer:
    def __init__(self, client: Any) -> None:
        self.client = client

    def succeed(self, task_token: str, output: dict[str, Any]) -> None:
        try:
            self.client.send_task_success(taskToken=task_token, output=json.dumps(output, default=str))
        except ClientError as err:
            raise translate(err) from err

    def fail(self, task_token: str, error: str, cause: dict[str, Any]) -> None:
        try:
            self.client.send_task_failure(
                taskToken=task_token, error=error[:256], cause=json.dumps(cause, default=str)[:CAUSE_MAX]
            )
        except ClientError as err:
            raise translate(err) from err
