"""Environment settings, parsed at the edge so a missing variable fails loudly at init."""

from __future__ import annotations

import os
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_bus_name: str = Field(min_length=1, alias="EVENT_BUS_NAME")
    dlq_url: str = Field(min_length=1, alias="DLQ_URL")

    @classmethod
    def from_env(cls) -> Self:
        try:
            return cls.model_validate(dict(os.environ))
        except ValidationError as exc:
            missing = ", ".join(str(e["loc"][0]) for e in exc.errors())
            raise RuntimeError(f"Mailwarden is misconfigured: check environment variables {missing}") from exc
