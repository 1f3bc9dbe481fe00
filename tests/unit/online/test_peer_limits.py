"""PeerLimits from node.json and serve options: defaults, overrides, and a clear error naming
the key for a value of the wrong type or out of range."""

from __future__ import annotations

from typing import Any

import pytest

from ctop_node.errors import ConfigError
from ctop_node.online.server import PeerLimits


def test_defaults_when_node_json_says_nothing() -> None:
    limits = PeerLimits.from_settings({})
    assert limits == PeerLimits()
    assert (limits.max_connections, limits.handshake_timeout_s) == (256, 10.0)
    assert (limits.body_timeout_s, limits.keepalive_s) == (60.0, 5.0)


def test_node_json_then_options_win() -> None:
    settings = {"peer_max_connections": 40, "peer_body_timeout_s": 7.5}
    limits = PeerLimits.from_settings(settings, max_connections=12, handshake_timeout_s=None)
    assert limits.max_connections == 12  # the option
    assert limits.body_timeout_s == 7.5  # node.json
    assert limits.handshake_timeout_s == 10.0  # the default


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("peer_max_connections", 0),
        ("peer_max_connections", 2.5),
        ("peer_max_connections", "100"),
        ("peer_handshake_timeout_s", -1),
        ("peer_body_timeout_s", None),
        ("peer_keepalive_s", True),
    ],
)
def test_a_bad_value_names_its_key(key: str, value: Any) -> None:
    with pytest.raises(ConfigError) as err:
        PeerLimits.from_settings({key: value})
    assert err.value.code == "config.peer_limits"
    assert key in str(err.value)
