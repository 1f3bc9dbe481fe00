"""The UI's settings in ``node.json``: session lifetimes (minutes), checked at start."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ctop_node.access.sessions import SessionSettings
from ctop_node.errors import ConfigError


class UiSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")  # node.json holds every part's settings

    ui_session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    ui_session_absolute_minutes: int = Field(default=12 * 60, ge=1, le=7 * 24 * 60)


def session_settings(settings: dict[str, Any]) -> SessionSettings:
    try:
        ui = UiSettings.model_validate(settings)
    except ValidationError as exc:
        raise ConfigError(f"node.json: {exc}", code="config.ui_sessions") from exc
    return SessionSettings(
        idle=timedelta(minutes=ui.ui_session_idle_minutes),
        absolute=timedelta(minutes=ui.ui_session_absolute_minutes),
    )
