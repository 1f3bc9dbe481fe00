"""Session lifetimes from node.json: defaults, given values, refused nonsense."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ctop_node.errors import ConfigError
from ctop_node.web.settings import session_settings


def test_defaults_and_given_values() -> None:
    default = session_settings({"party": "CN"})
    assert (default.idle, default.absolute) == (timedelta(minutes=30), timedelta(hours=12))
    given = session_settings({"ui_session_idle_minutes": 5, "ui_session_absolute_minutes": 60})
    assert (given.idle, given.absolute) == (timedelta(minutes=5), timedelta(hours=1))


@pytest.mark.parametrize("value", [0, -1, "ten", 10**9])
def test_nonsense_is_a_config_error(value: object) -> None:
    with pytest.raises(ConfigError) as err:
        session_settings({"ui_session_idle_minutes": value})
    assert err.value.code == "config.ui_sessions"
