"""node.json is checked whole by the typed settings model: a misspelt key is an error naming it,
CTOP_* overrides the file, and docs/operations.md lists every key."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from ctop_node.config import NodeConfig, NodeSettings, parse_settings, write_node_config
from ctop_node.errors import ConfigError

ROOT = Path(__file__).parents[2]


def _home(tmp_path: Path, **settings: object) -> Path:
    (tmp_path / "node.json").write_text(json.dumps({"party": "KZ", **settings}), "utf-8")
    return tmp_path


def test_a_misspelt_key_is_named_with_the_closest_known_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        NodeConfig.load(_home(tmp_path, http_timout_s=3))
    assert err.value.code == "config.unknown_key"
    assert "'http_timout_s'" in err.value.message and "'http_timeout_s'" in err.value.message
    with pytest.raises(ConfigError, match="'colour'") as err:
        NodeConfig.load(_home(tmp_path, colour="blue"))
    assert "did you mean" not in err.value.message  # nothing close: no guess


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("circuit_failures", True),
        ("circuit_failures", 0),
        ("http_timeout_s", "soon"),
        ("peer_port", 70000),
        ("retention_days", 2.5),
        ("report_lock_share_threshold", 1.5),
        ("peers", {"CN": {"uri": "https://x"}}),
    ],
)
def test_a_bad_value_names_its_key(tmp_path: Path, key: str, value: object) -> None:
    with pytest.raises(ConfigError) as err:
        NodeConfig.load(_home(tmp_path, **{key: value}))
    assert err.value.code in {"config.bad_value", "config.unknown_key"}
    assert key in err.value.message


def test_typed_values_and_the_set_keys_as_a_dict(tmp_path: Path) -> None:
    config = NodeConfig.load(_home(tmp_path, circuit_open_s=2.5, lock_expiry_skew_s=30))
    assert config.node.circuit_open_s == 2.5 and config.node.lock_expiry_skew_s == 30.0
    assert config.node.http_timeout_s == NodeSettings.model_fields["http_timeout_s"].default
    # code that still reads the dict sees what was set, and its own default for the rest
    assert config.settings == {"party": "KZ", "circuit_open_s": 2.5, "lock_expiry_skew_s": 30.0}


def test_environment_overrides_the_file_and_the_command_line_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(tmp_path, http_timeout_s=15, db_url="sqlite:///file.db")
    monkeypatch.setenv("CTOP_HTTP_TIMEOUT_S", "4.5")
    monkeypatch.setenv("CTOP_DB_URL", "sqlite:///env.db")
    config = NodeConfig.load(home)
    assert config.node.http_timeout_s == 4.5 and config.settings["http_timeout_s"] == 4.5
    assert config.db_url == "sqlite:///env.db"
    assert NodeConfig.load(home, db_url="sqlite:///cli.db").db_url == "sqlite:///cli.db"
    monkeypatch.setenv("CTOP_CIRCUIT_FAILURES", "many")
    with pytest.raises(ConfigError, match="circuit_failures"):
        NodeConfig.load(home)


def test_a_file_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    (tmp_path / "node.json").write_text("[1, 2]", "utf-8")
    with pytest.raises(ConfigError, match="not a JSON object"):
        NodeConfig.load(tmp_path)


def test_write_node_config_refuses_what_load_would_refuse(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="circuit_failure"):
        write_node_config(tmp_path, {"party": "KZ", "circuit_failure": 3})


def _keys_read_by_name() -> set[str]:
    """String keys of every ``<...>settings.get("key"...)`` / ``settings["key"]`` in src/."""
    keys: set[str] = set()
    for path in (ROOT / "src" / "ctop_node").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            target: ast.expr = ast.Constant(None)
            key: ast.expr = ast.Constant(None)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
            ):
                target, key = node.func.value, node.args[0]
            elif isinstance(node, ast.Subscript):
                target, key = node.value, node.slice
            if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
                continue
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name == "settings":
                keys.add(key.value)
    return keys


def test_every_key_the_code_reads_is_declared() -> None:
    read = _keys_read_by_name()
    assert read, "the scan found no settings read by name"
    assert read <= set(NodeSettings.model_fields), read - set(NodeSettings.model_fields)


def test_operations_doc_lists_every_key() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text("utf-8")
    section = doc.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))
    assert listed == set(NodeSettings.model_fields)


def test_parse_settings_names_its_source() -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({"nope": 1}, source="elsewhere.json")
    assert err.value.message.startswith("elsewhere.json: unknown key 'nope'")
