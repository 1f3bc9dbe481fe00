"""``ctop-node init`` and ``ctop-node pki`` end to end on two homes in tmp dirs."""

from __future__ import annotations

import importlib.util
import json
import stat
from pathlib import Path
from types import ModuleType

import pytest
import typer
from typer.testing import CliRunner

from ctop_node.config import NodeConfig
from ctop_node.crypto.envelope import EnvelopeHeader, open_, seal
from ctop_node.crypto.errors import CertRevoked, PkiError
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import load_certificate
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore
from ctop_node.errors import UsageError
from ctop_node.model.messages import MessageType


def _load_pki_cli() -> ModuleType:
    """``ctop_node.cli.pki`` without running ``ctop_node/cli/__init__.py``, which imports every
    command module (some may not exist yet while the CLI is being assembled)."""
    import ctop_node

    path = Path(ctop_node.__file__).parent / "cli" / "pki.py"
    spec = importlib.util.spec_from_file_location("_ctop_cli_pki_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    _load_pki_cli().register(app)
    return app


def run(app: typer.Typer, *args: str | Path) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_two_parties_from_the_command_line(cli: typer.Typer, tmp_path: Path) -> None:
    kz_ca, kz, cn = tmp_path / "kz-ca", tmp_path / "kz", tmp_path / "cn"
    assert "KZ" in run(cli, "pki", "ca", "--party", "KZ", "--out", kz_ca)
    assert stat.S_IMODE((kz_ca / "ca.key").stat().st_mode) == 0o600
    run(
        cli,
        "init",
        "--party",
        "KZ",
        "--home",
        kz,
        "--ca",
        kz_ca,
        "--peer-port",
        "9443",
        "--api-port",
        "9080",
    )
    run(cli, "init", "--party", "cn", "--home", cn, "--db", "sqlite:///" + str(cn / "x.db"))

    stored = json.loads((kz / "node.json").read_text())
    assert stored["peer_port"] == 9443 and stored["api_port"] == 9080
    config = NodeConfig.load(kz)
    assert config.party == "KZ" and config.db_url.startswith("sqlite:///")
    assert NodeConfig.load(cn).db_url == "sqlite:///" + str(cn / "x.db")
    assert (cn / "ca" / "ca.key").exists() and not (kz / "ca").exists()

    run(cli, "pki", "export-trust", "--home", kz, "--out", tmp_path / "kz.json")
    run(cli, "pki", "export-trust", "--home", cn, "--out", tmp_path / "cn.json")
    run(cli, "pki", "import-trust", tmp_path / "cn.json", "--home", kz)
    assert "KZ" in run(cli, "pki", "import-trust", tmp_path / "kz.json", "--home", cn)

    kz_trust = BundleTrustStore.from_home(kz)
    data = seal(
        EnvelopeHeader.new(MessageType.CONSIGNMENT, sender="KZ", recipient="CN", tc_version="1"),
        b"{}",
        SoftwareSigner.from_home(kz),
        kz_trust.recipient_key("CN"),
    )
    cn_decryptor = SoftwareDecryptor.from_home(cn)
    assert open_(data, BundleTrustStore.from_home(cn), cn_decryptor, "CN").payload == b"{}"

    serial = load_certificate(NodePaths(kz).sign_cert).serial_number
    run(cli, "pki", "revoke", "--ca", kz_ca, "--serial", hex(serial), "--home", kz)
    run(cli, "pki", "export-trust", "--home", kz, "--ca", kz_ca, "--out", tmp_path / "kz.json")
    run(cli, "pki", "import-trust", tmp_path / "kz.json", "--home", cn)
    with pytest.raises(CertRevoked):
        open_(data, BundleTrustStore.from_home(cn), cn_decryptor, "CN")


def test_refusals(cli: typer.Typer, tmp_path: Path) -> None:
    home = tmp_path / "kz"
    run(cli, "init", "--party", "KZ", "--home", home)
    runner = CliRunner()
    again = runner.invoke(cli, ["init", "--party", "KZ", "--home", str(home)])
    assert isinstance(again.exception, UsageError)

    run(cli, "pki", "export-trust", "--home", home, "--out", tmp_path / "kz.json")
    own = runner.invoke(
        cli, ["pki", "import-trust", str(tmp_path / "kz.json"), "--home", str(home)]
    )
    assert isinstance(own.exception, PkiError)
    assert own.exception.code == "crypto.pki.own_party"

    bad = runner.invoke(cli, ["pki", "revoke", "--ca", str(home / "ca"), "--serial", "x1"])
    assert isinstance(bad.exception, UsageError)
    wrong = runner.invoke(
        cli, ["init", "--party", "CN", "--home", str(tmp_path / "cn"), "--ca", str(home / "ca")]
    )
    assert isinstance(wrong.exception, PkiError)


# -- TLS names, fingerprints, CRL, rotation, offline CA (issue 8) -------------------------


def _fp(output: str) -> str:
    import re

    found = re.findall(r"((?:[0-9a-f]{2}:){31}[0-9a-f]{2})", output)
    assert found, output
    return str(found[-1])


def test_init_names_the_tls_hosts_and_prints_the_fingerprint(
    cli: typer.Typer, tmp_path: Path
) -> None:
    from ctop_node.crypto.names import fingerprint, tls_names_of

    home = tmp_path / "cn"
    out = run(cli, "init", "--party", "CN", "--home", home, "--dns", "cn-node", "--ip", "10.0.0.7")
    paths = NodePaths(home)
    assert tls_names_of(load_certificate(paths.tls_cert)) == (["cn-node"], ["10.0.0.7"])
    assert _fp(out) == fingerprint(load_certificate(paths.ca_cert))
    out = run(cli, "pki", "reissue-tls", "--home", home, "--dns", "cn-node", "--dns", "cn2")
    assert tls_names_of(load_certificate(paths.tls_cert)) == (["cn-node", "cn2"], [])
    assert "cn2" in out


def test_export_and_import_print_the_same_fingerprint_and_check_it(
    cli: typer.Typer, tmp_path: Path
) -> None:
    kz, cn = tmp_path / "kz", tmp_path / "cn"
    printed = _fp(run(cli, "init", "--party", "KZ", "--home", kz))
    run(cli, "init", "--party", "CN", "--home", cn)
    exported = run(cli, "pki", "export-trust", "--home", kz, "--out", tmp_path / "kz.json")
    assert _fp(exported) == printed
    runner = CliRunner()
    wrong = "AB" * 32
    refused = runner.invoke(
        cli,
        ["pki", "import-trust", str(tmp_path / "kz.json"), "--home", str(cn)]
        + ["--expect-fingerprint", wrong],
    )
    assert isinstance(refused.exception, PkiError)
    assert refused.exception.code == "crypto.pki.fingerprint_mismatch"
    assert printed in refused.exception.message
    assert not (cn / "peers" / "KZ").exists()  # nothing stored
    out = run(
        cli,
        "pki",
        "import-trust",
        tmp_path / "kz.json",
        "--home",
        cn,
        "--expect-fingerprint",
        printed.upper().replace(":", ""),
    )
    assert _fp(out) == printed


def test_export_trust_carries_a_freshly_signed_crl(cli: typer.Typer, tmp_path: Path) -> None:
    from ctop_node.crypto.pki import crl_number, load_crl
    from ctop_node.crypto.trust import TrustBundle

    home = tmp_path / "kz"
    run(cli, "init", "--party", "KZ", "--home", home)
    before = load_crl(NodePaths(home).crl)
    run(cli, "pki", "export-trust", "--home", home, "--out", tmp_path / "kz.json")
    bundle = TrustBundle.from_json((tmp_path / "kz.json").read_text())
    assert crl_number(bundle.crl) == crl_number(before) + 1
    assert bundle.crl.last_update_utc >= before.last_update_utc


def test_crl_and_rotate_commands(cli: typer.Typer, tmp_path: Path) -> None:
    from ctop_node.crypto.pki import crl_number, load_crl

    home = tmp_path / "kz"
    run(cli, "init", "--party", "KZ", "--home", home)
    n = crl_number(load_crl(NodePaths(home).crl))
    assert "KZ" in run(cli, "pki", "crl", "--home", home, "--days", "10")
    assert crl_number(load_crl(NodePaths(home).crl)) == n + 1
    old = SoftwareSigner.from_home(home).kid
    run(cli, "pki", "rotate", "--home", home)
    assert SoftwareSigner.from_home(home).kid != old
    assert SoftwareDecryptor.from_home(home).retired


def test_offline_ca_flow_from_the_command_line(cli: typer.Typer, tmp_path: Path) -> None:
    ca, home = tmp_path / "offline-ca", tmp_path / "kz"
    run(cli, "pki", "ca", "--party", "KZ", "--out", ca)
    out = run(
        cli, "init", "--party", "KZ", "--home", home, "--csr", tmp_path / "req.json", "--dns", "kz"
    )
    assert "pki sign" in out
    no_ca = CliRunner().invoke(cli, ["pki", "crl", "--home", str(home)])
    assert isinstance(no_ca.exception, UsageError) and no_ca.exception.code == "usage.no_ca"
    run(cli, "pki", "sign", tmp_path / "req.json", "--ca", ca, "--out", tmp_path / "ans.json")
    run(cli, "pki", "install", tmp_path / "ans.json", "--home", home)
    SoftwareSigner.from_home(home)
    run(cli, "pki", "crl", "--ca", ca, "--out", tmp_path / "crl.pem")
    assert "CRL" in run(cli, "pki", "install", tmp_path / "crl.pem", "--home", home)
    run(cli, "pki", "rotate", "--home", home, "--csr", tmp_path / "rot.json")
    run(cli, "pki", "sign", tmp_path / "rot.json", "--ca", ca, "--out", tmp_path / "rot-ans.json")
    assert "True" in run(cli, "pki", "install", tmp_path / "rot-ans.json", "--home", home)
