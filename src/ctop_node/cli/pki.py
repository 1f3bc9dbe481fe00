"""``ctop-node init`` and ``ctop-node pki``: Party CA, node keys, trust bundles, revocation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctop_node.config import (
    CONFIG_FILE,
    NodeConfig,
    default_home,
    sqlite_url,
    write_node_config,
)
from ctop_node.crypto.node import NodePaths, init_node
from ctop_node.crypto.pki import CA_CERT, PartyCA, check_party, load_certificate, write_pem
from ctop_node.crypto.trust import export_trust, import_trust
from ctop_node.errors import UsageError
from ctop_node.i18n import _

DEFAULT_PEER_PORT = 8443
DEFAULT_API_PORT = 8080

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="Node home directory (default: $CTOP_HOME or ./.ctop)."),
]
CaOpt = Annotated[Path | None, typer.Option("--ca", help="Directory of the Party CA.")]

pki_app = typer.Typer(help="Party CA, certificates and trust bundles.", no_args_is_help=True)


def _fingerprint(path: Path) -> str:
    from cryptography.hazmat.primitives import hashes

    return load_certificate(path).fingerprint(hashes.SHA256()).hex(":")


@pki_app.command("ca")
def create_ca(
    party: Annotated[str, typer.Option("--party", help="Party code, e.g. KZ.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to create the CA in.")],
) -> None:
    """Create a Party CA (Ed25519) with an empty revocation list."""
    ca = PartyCA.create(party, out)
    typer.echo(_("Party CA {party} created in {path}").format(party=ca.party, path=out))
    typer.echo(_("SHA-256 fingerprint: {fp}").format(fp=_fingerprint(out / CA_CERT)))


def init(
    party: Annotated[str, typer.Option("--party", help="This node's Party, e.g. KZ.")],
    home: HomeOpt = None,
    ca: CaOpt = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL.")] = None,
    peer_port: Annotated[int, typer.Option("--peer-port")] = DEFAULT_PEER_PORT,
    api_port: Annotated[int, typer.Option("--api-port")] = DEFAULT_API_PORT,
    node_name: Annotated[str, typer.Option("--node-name")] = "",
) -> None:
    """Create a node home: node.json, keys (0600) and certificates from the Party CA.

    Without --ca, a new Party CA is created in HOME/ca.
    """
    home = home or default_home()
    party = check_party(party)
    if (home / CONFIG_FILE).exists():
        raise UsageError(
            _("{path} already exists").format(path=home / CONFIG_FILE), code="usage.exists"
        )
    for port in (peer_port, api_port):
        if not 0 < port < 65536:
            raise UsageError(_("invalid port {port}").format(port=port), code="usage.port")
    issuer = init_node(home, party, ca_dir=ca, node=node_name)
    config = {
        "party": party,
        "db_url": db or sqlite_url(home),
        "peer_port": peer_port,
        "api_port": api_port,
        "node_name": node_name or f"ctop-node {party}",
    }
    write_node_config(home, config)
    typer.echo(
        _("Node {party} initialised in {path} (CA: {ca})").format(
            party=party, path=home, ca=issuer.directory
        )
    )


@pki_app.command("export-trust")
def export_trust_cmd(
    out: Annotated[Path, typer.Option("--out", help="Trust bundle file to write (JSON).")],
    home: HomeOpt = None,
    ca: CaOpt = None,
) -> None:
    """Write this node's trust bundle (CA, CRL, public certificates) for the peer Party."""
    home = home or default_home()
    paths = NodePaths(home)
    ca_dir = ca or (paths.ca_dir if (paths.ca_dir / CA_CERT).exists() else None)
    crl = None
    if ca_dir is not None:  # publish the CA's current CRL and keep our own copy in step
        crl = PartyCA.load(ca_dir).crl()
        write_pem(paths.crl, crl)
    bundle = export_trust(home, out, crl=crl)
    typer.echo(_("Trust bundle of {party} written to {path}").format(party=bundle.party, path=out))


@pki_app.command("import-trust")
def import_trust_cmd(
    file: Annotated[Path, typer.Argument(help="Trust bundle of a peer Party.")],
    home: HomeOpt = None,
) -> None:
    """Check a peer Party's trust bundle and store it under HOME/peers/<PARTY>/."""
    config = NodeConfig.load(home or default_home())
    bundle = import_trust(config.home, file, own_party=config.party)
    typer.echo(
        _("Trust bundle of {party} imported ({n} signing certificates)").format(
            party=bundle.party, n=len(bundle.signing)
        )
    )


@pki_app.command("revoke")
def revoke(
    serial: Annotated[str, typer.Option("--serial", help="Serial, decimal or 0x hex.")],
    ca: Annotated[Path, typer.Option("--ca", help="Directory of the Party CA.")],
) -> None:
    """Revoke a certificate: add its serial to the Party CA's CRL."""
    try:
        number = int(serial, 0)
    except ValueError as exc:
        raise UsageError(
            _("invalid serial {serial}").format(serial=serial), code="usage.serial"
        ) from exc
    crl = PartyCA.load(ca).revoke(number)
    typer.echo(
        _(
            "Serial {serial} revoked; the CRL lists {n} certificates. Export the trust "
            "bundle again so that the peer learns it."
        ).format(serial=number, n=len(crl))
    )


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(pki_app, name="pki")
