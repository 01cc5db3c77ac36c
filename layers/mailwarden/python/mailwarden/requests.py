"""What every scheduled or on-demand run starts from: the schedule's tick (its input is in
``contracts.schedules``) and a deterministic run name, so a redelivered tick or event does nothing new."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ScheduleTick(BaseModel):
    model_config = ConfigDict(extra="ignore")
    trigger: Literal["schedule"]
    scheduledTime: str = Field(min_length=1)
    scheduleExecutionId: str = Field(min_length=1)


def run_name(prefix: str, value: str) -> str:
    """``<prefix>-<value>`` made safe for a Step Functions execution name (80 characters)."""
    return f"{prefix}-{re.sub(r'[^A-Za-z0-9_-]', '-', value)}"[:80]
