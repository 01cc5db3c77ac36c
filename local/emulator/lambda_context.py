"""A LambdaContext stand-in with what Powertools reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailwarden.clock import Clock, default_clock


@dataclass
class FakeLambdaContext:
    function_name: str = "mailwarden-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:mailwarden-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    timeout_seconds: float = 60.0
    clock: Clock = field(default_factory=default_clock)
    _deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self._deadline = self.clock.time() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self.clock.time()) * 1000))
