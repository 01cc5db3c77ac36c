"""The SSM kill switch every writer reads (its own module: functions that only read the switch do not
load the reputation guard's adapters)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..clock import Clock


class SsmKillSwitch:
    """One SSM parameter stops every write. ``off`` means writes are allowed; any other value, a
    missing parameter or an unreadable one means engaged (fail safe). Cached for ``ttl`` seconds."""

    def __init__(self, client: Any, name: str, clock: Clock, ttl: float = 10.0) -> None:
        self.client = client
        self.name = name
        self.clock = clock
        self.ttl = ttl
        self._value: tuple[float, bool] | None = None

    def engaged(self) -> bool:
        now = self.clock.time()
        if self._value and now - self._value[0] < self.ttl:
            return self._value[1]
        try:
            engaged = self.read()
        except ClientError:
            engaged = True
        self._value = (now, engaged)
        return engaged

    def read(self) -> bool:
        """Whether it is on now, uncached; a failure to read raises (the CLI says so)."""
        return str(self.client.get_parameter(Name=self.name)["Parameter"]["Value"]).strip().lower() != "off"

    def set(self, engaged: bool) -> None:
        self.client.put_parameter(Name=self.name, Value="on" if engaged else "off", Type="String", Overwrite=True)
        self._value = None
