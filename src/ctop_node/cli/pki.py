"""``ctop-node init`` and ``ctop-node pki``: Party CA, node keys, trust bundles, revocation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctop_node.access._files import write_new_private
from ctop_node.cli._actor import ActorOpt, audit_key_change
from ctop_node.cli._common import JsonOpt, report_done
from ctop_node.config import (
    CONFIG_FILE,
    NodeConfig,
    default_home,
    sqlite_url,
    write_node_config,
)
from ctop_node.crypto.csr import install_crl, install_issued, make_request, sign_request
from ctop_node.crypto.names import DEFAULT_TLS_DNS, DEFAULT_TLS_IPS, fingerprint, tls_names_of
from ctop_node.crypto.node import NodePaths, init_node, reissue_tls, rotate_keys
from ctop_node.crypto.pki import (
    CA_CERT,
    CA_KEY,
    CRL_DAYS,
    PartyCA,
    check_party,
    load_certificate,
    load_crl,
    utcnow,
    write_pem,
)
from ctop_node.crypto.trust import export_trust, import_trust
from ctop_node.errors import UsageError
from ctop_node.i18n import N_, _
from ctop_node.store.at_rest import KEY_FILE, Keyring

DEFAULT_PEER_PORT = 8443
DEFAULT_API_PORT = 8080

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help=N_("Node home directory (default: $CTOP_HOME or ./.ctop).")),
]
CaOpt = Annotated[Path | None, typer.Option("--ca", help=N_("Directory of the Party CA."))]
DnsOpt = Annotated[
    list[str] | None,
    typer.Option("--dns", help=N_("Host name the peer dials for this node (repeatable).")),
]
IpOpt = Annotated[
    list[str] | None,
    typer.Option("--ip", help=N_("IP address the peer dials for this node (repeatable).")),
]

pki_app = typer.Typer(help=N_("Party CA, certificates and trust bundles."), no_args_is_help=True)


def _fingerprint(path: Path) -> str:
    return fingerprint(load_certificate(path))


def _fingerprint_line(path: Path) -> str:
    return _("Party CA SHA-256 fingerprint (compare it by phone): {fp}").format(
        fp=_fingerprint(path)
    )


def _names(dns: list[str] | None, ip: list[str] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The TLS names: the defaults (localhost, 127.0.0.1) only when none is given."""
    if not dns and not ip:
        return DEFAULT_TLS_DNS, DEFAULT_TLS_IPS
    return tuple(dns or ()), tuple(ip or ())


def _ca_of(home: Path, ca: Path | None) -> PartyCA:
    """The Party CA given with --ca, else the one in HOME/ca; a clear error when the CA key
    is kept off this node (as recommended)."""
    ca_dir = ca or NodePaths(home).ca_dir
    if not (ca_dir / CA_KEY).is_file():
        raise UsageError(
            _(
                "the Party CA key is not in {path}: run this where the CA is kept, with "
                "--ca DIR (or use the --csr request flow)"
            ).format(path=ca_dir),
            code="usage.no_ca",
        )
    return PartyCA.load(ca_dir)


def _request_fingerprint(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pki_app.command("ca")
def create_ca(
    party: Annotated[str, typer.Option("--party", help=N_("Party code, e.g. KZ."))],
    out: Annotated[Path, typer.Option("--out", help=N_("Directory to create the CA in."))],
    as_json: JsonOpt = False,
) -> None:
    """Create a Party CA (Ed25519) with an empty revocation list.

    \b
    Examples:
      ctop-node pki ca --party KZ --out /media/offline/kz-ca
    """
    ca = PartyCA.create(party, out)
    fp = _fingerprint(out / CA_CERT)
    report_done(
        as_json,
        {"party": ca.party, "path": str(out), "fingerprint": fp},
        _("Party CA {party} created in {path}").format(party=ca.party, path=out),
        _("SHA-256 fingerprint: {fp}").format(fp=fp),
    )


def _make_at_rest_key(home: Path) -> None:
    """Art.6: the key that seals record content in the database, held outside it (0600), so
    a new node stores no peer record in clear from its first message on."""
    path = NodePaths(home).keys / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_new_private(path, Keyring.generate().dumps())


def init(
    party: Annotated[str, typer.Option("--party", help=N_("This node's Party, e.g. KZ."))],
    home: HomeOpt = None,
    ca: CaOpt = None,
    db: Annotated[str | None, typer.Option("--db", help=N_("Database URL."))] = None,
    peer_port: Annotated[int, typer.Option("--peer-port")] = DEFAULT_PEER_PORT,
    api_port: Annotated[int, typer.Option("--api-port")] = DEFAULT_API_PORT,
    node_name: Annotated[str, typer.Option("--node-name")] = "",
    dns: DnsOpt = None,
    ip: IpOpt = None,
    csr: Annotated[
        Path | None,
        typer.Option(
            "--csr", help=N_("Keep the CA off the node: write a certificate request here.")
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a node home: node.json, keys (0600) and certificates from the Party CA.

    Without --ca, a new Party CA is created in HOME/ca. --dns/--ip name the hosts the peer
    dials (default localhost, 127.0.0.1). With --csr, only keys and a request are made: sign
    it at the offline CA (`pki sign`), then `pki install` the answer.

    \b
    Examples:
      ctop-node init --party KZ --home /var/lib/ctop --dns ctop.customs.example.kz
      ctop-node init --party KZ --home /var/lib/ctop --csr kz-node.csr --json
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
    names = _names(dns, ip)
    if csr is not None:
        if ca is not None:
            raise UsageError(_("give either --ca or --csr, not both"), code="usage.csr_and_ca")
        make_request(home, party, csr, node=node_name, dns=names[0], ips=names[1])
    else:
        issuer = init_node(home, party, ca_dir=ca, node=node_name, dns=names[0], ips=names[1])
    _make_at_rest_key(home)
    config = {
        "party": party,
        "db_url": db or sqlite_url(home),
        "peer_port": peer_port,
        "api_port": api_port,
        "node_name": node_name or f"ctop-node {party}",
    }
    write_node_config(home, config)
    doc: dict[str, object] = {
        "party": party,
        "home": str(home),
        "tls_names": [*names[0], *names[1]],
    }
    if csr is not None:
        doc |= {"request": str(csr), "request_sha256": _request_fingerprint(csr)}
        report_done(
            as_json,
            doc,
            _(
                "Keys of node {party} made in {path}; certificate request written to "
                "{request} (SHA-256 {fp}): sign it at the Party CA with `ctop-node pki sign`, "
                "then `ctop-node pki install` the answer"
            ).format(party=party, path=home, request=csr, fp=doc["request_sha256"]),
        )
        return
    ca_cert = NodePaths(home).ca_cert
    doc |= {"ca": str(issuer.directory), "fingerprint": _fingerprint(ca_cert)}
    report_done(
        as_json,
        doc,
        _("Node {party} initialised in {path} (CA: {ca})").format(
            party=party, path=home, ca=issuer.directory
        ),
        _("TLS certificate names: {names}").format(names=", ".join(names[0] + names[1])),
        _fingerprint_line(ca_cert),
    )


@pki_app.command("export-trust")
def export_trust_cmd(
    out: Annotated[Path, typer.Option("--out", help=N_("Trust bundle file to write (JSON)."))],
    home: HomeOpt = None,
    ca: CaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write this node's trust bundle (CA, CRL, public certificates) for the peer Party.

    With the CA key at hand (HOME/ca or --ca) the CRL is signed afresh; with the CA kept
    offline the installed CRL is used, and refused when it is stale.

    \b
    Examples:
      ctop-node pki export-trust --out kz-trust.json --home /var/lib/ctop
      ctop-node pki export-trust --out kz-trust.json --ca /media/offline/kz-ca --home /var/lib/ctop
    """
    home = home or default_home()
    paths = NodePaths(home)
    ca_dir = ca or (paths.ca_dir if (paths.ca_dir / CA_KEY).exists() else None)
    if ca_dir is not None:  # a freshly signed CRL, and our own copy in step
        crl = PartyCA.load(ca_dir).resign_crl()
        write_pem(paths.crl, crl)
    else:
        crl = load_crl(paths.crl)
        if crl.next_update_utc is not None and crl.next_update_utc < utcnow():
            raise UsageError(
                _(
                    "the CRL in {path} is stale; re-sign it at the Party CA (`ctop-node pki "
                    "crl --ca DIR --out crl.pem`) and `ctop-node pki install crl.pem` first"
                ).format(path=paths.crl),
                code="usage.crl_stale",
            )
    bundle = export_trust(home, out, crl=crl)
    until = crl.next_update_utc.isoformat() if crl.next_update_utc is not None else None
    lines = [_("Trust bundle of {party} written to {path}").format(party=bundle.party, path=out)]
    if until is not None:
        lines.append(_("Its CRL is valid until {when}").format(when=until))
    lines.append(_fingerprint_line(paths.ca_cert))
    doc = {"party": bundle.party, "path": str(out), "crl_valid_until": until}
    report_done(as_json, doc | {"fingerprint": _fingerprint(paths.ca_cert)}, *lines)


@pki_app.command("import-trust")
def import_trust_cmd(
    file: Annotated[Path, typer.Argument(help=N_("Trust bundle of a peer Party."))],
    home: HomeOpt = None,
    expect_fingerprint: Annotated[
        str | None,
        typer.Option(
            "--expect-fingerprint",
            help=N_("SHA-256 of the peer's Party CA as read out by the peer; refuse any other."),
        ),
    ] = None,
    user: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a peer Party's trust bundle and store it under HOME/peers/<PARTY>/.

    \b
    Examples:
      ctop-node pki import-trust cn-trust.json --home /var/lib/ctop
      ctop-node pki import-trust cn-trust.json --expect-fingerprint 3f9a...c2 --home /var/lib/ctop
    """
    config = NodeConfig.load(home or default_home())
    bundle = import_trust(
        config.home, file, own_party=config.party, expect_fingerprint=expect_fingerprint
    )
    audit_key_change(
        config.home,
        user,
        "pki.import_trust",
        f"trust:{bundle.party}",
        {"fingerprint": bundle.fingerprint, "signing": len(bundle.signing)},
    )
    lines = [
        _("Trust bundle of {party} imported ({n} signing certificates)").format(
            party=bundle.party, n=len(bundle.signing)
        ),
        _("Party CA SHA-256 fingerprint of {party}: {fp}").format(
            party=bundle.party, fp=bundle.fingerprint
        ),
    ]
    if expect_fingerprint is None:
        lines.append(
            _(
                "Compare it with the fingerprint the other Party reads out by phone "
                "(or import again with --expect-fingerprint)"
            )
        )
    doc = {
        "party": bundle.party,
        "signing_certificates": len(bundle.signing),
        "fingerprint": bundle.fingerprint,
        "fingerprint_checked": expect_fingerprint is not None,
    }
    report_done(as_json, doc, *lines)


@pki_app.command("revoke")
def revoke(
    serial: Annotated[str, typer.Option("--serial", help=N_("Serial, decimal or 0x hex."))],
    ca: Annotated[Path, typer.Option("--ca", help=N_("Directory of the Party CA."))],
    home: Annotated[
        Path | None,
        typer.Option("--home", help=N_("Node home that gets the new CRL (and pushes it).")),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a certificate: add its serial to the Party CA's CRL.

    \b
    Examples:
      ctop-node pki revoke --serial 0x1f2e3d --ca /media/offline/kz-ca
      ctop-node pki revoke --serial 4711 --ca /var/lib/ctop/ca --home /var/lib/ctop
    """
    try:
        number = int(serial, 0)
    except ValueError as exc:
        raise UsageError(
            _("invalid serial {serial}").format(serial=serial), code="usage.serial"
        ) from exc
    party_ca = PartyCA.load(ca)
    crl = party_ca.revoke(number)
    paths = NodePaths(home) if home is not None else None
    doc = {"serial": number, "revoked": len(crl)}
    if paths is not None and load_certificate(paths.ca_cert) == party_ca.certificate:
        write_pem(paths.crl, crl)
        report_done(
            as_json,
            doc | {"node_crl": str(paths.crl)},
            _(
                "Serial {serial} revoked; the CRL lists {n} certificates. The node in {path} "
                "sends it to the peer by trust update while it serves."
            ).format(serial=number, n=len(crl), path=home),
        )
        return
    report_done(
        as_json,
        doc | {"node_crl": None},
        _(
            "Serial {serial} revoked; the CRL lists {n} certificates. Export the trust "
            "bundle again so that the peer learns it."
        ).format(serial=number, n=len(crl)),
    )


@pki_app.command("reissue-tls")
def reissue_tls_cmd(
    dns: DnsOpt = None,
    ip: IpOpt = None,
    home: HomeOpt = None,
    ca: CaOpt = None,
    user: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue a new TLS key and certificate for the host names/addresses the peer dials.

    \b
    Examples:
      ctop-node pki reissue-tls --dns ctop.customs.example.kz --ip 203.0.113.10 --home /var/lib/ctop
    """
    if not dns and not ip:
        raise UsageError(_("give at least one --dns or --ip"), code="usage.tls_names")
    home = home or default_home()
    cert = reissue_tls(home, _ca_of(home, ca), dns=tuple(dns or ()), ips=tuple(ip or ()))
    names, addrs = tls_names_of(cert)
    audit_key_change(
        home,
        user,
        "pki.reissue_tls",
        "key:tls",
        {"serial": format(cert.serial_number, "x"), "names": names + addrs},
    )
    report_done(
        as_json,
        {"tls_names": [*names, *addrs]},
        _("TLS certificate reissued for {names}; restart `ctop-node serve`").format(
            names=", ".join(names + addrs)
        ),
    )


@pki_app.command("crl")
def crl_cmd(
    home: HomeOpt = None,
    ca: CaOpt = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366)] = CRL_DAYS,
    out: Annotated[
        Path | None, typer.Option("--out", help=N_("Also write the CRL here (for an offline CA)."))
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-sign the Party CA's CRL now (run it before it goes stale; the node pushes it).

    \b
    Examples:
      ctop-node pki crl --home /var/lib/ctop
      ctop-node pki crl --ca /media/offline/kz-ca --days 30 --out crl.pem
    """
    home = home or default_home()
    party_ca = _ca_of(home, ca)
    crl = party_ca.resign_crl(days=days)
    if out is not None:
        write_pem(out, crl)
    paths = NodePaths(home)
    if paths.ca_cert.exists() and load_certificate(paths.ca_cert) == party_ca.certificate:
        write_pem(paths.crl, crl)
    until = crl.next_update_utc.isoformat() if crl.next_update_utc else None
    report_done(
        as_json,
        {"party": party_ca.party, "valid_until": until, "out": str(out) if out else None},
        _("CRL of {party} re-signed, valid until {when}").format(
            party=party_ca.party, when=until or "-"
        ),
    )


@pki_app.command("sign")
def sign_cmd(
    request: Annotated[
        Path, typer.Argument(help=N_("Certificate request of a node (ctop-csr/1)."))
    ],
    ca: Annotated[Path, typer.Option("--ca", help=N_("Directory of the Party CA."))],
    out: Annotated[Path, typer.Option("--out", help=N_("Answer file to write (ctop-issued/1)."))],
    as_json: JsonOpt = False,
) -> None:
    """At the offline Party CA: issue the certificates a node requested.

    \b
    Examples:
      ctop-node pki sign kz-node.csr --ca /media/offline/kz-ca --out kz-node.issued
    """
    fp = _request_fingerprint(request)
    req = sign_request(PartyCA.load(ca), request, out)
    doc = {
        "request_sha256": fp,
        "node": req.node_name,
        "path": str(out),
        "tls_names": [*req.tls_dns, *req.tls_ips],
    }
    report_done(
        as_json,
        doc,
        _("Request SHA-256 {fp}: compare it with the one the node printed").format(fp=fp),
        _("Certificates for {node} issued to {path}; TLS names: {names}").format(
            node=req.node_name, path=out, names=", ".join(req.tls_dns + req.tls_ips)
        ),
    )


@pki_app.command("install")
def install_cmd(
    file: Annotated[Path, typer.Argument(help=N_("Answer of `pki sign`, or a CRL (PEM)."))],
    home: HomeOpt = None,
    user: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Install certificates issued by the offline CA, or a CRL it re-signed.

    \b
    Examples:
      ctop-node pki install kz-node.issued --home /var/lib/ctop
      ctop-node pki install crl.pem --home /var/lib/ctop
    """
    home = home or default_home()
    head = file.read_bytes()[:64] if file.is_file() else b""
    if b"BEGIN X509 CRL" in head:
        crl = install_crl(home, file)
        until = crl.next_update_utc.isoformat() if crl.next_update_utc else None
        report_done(
            as_json,
            {"installed": "crl", "valid_until": until},
            _("CRL installed, valid until {when}").format(when=until or "-"),
        )
        return
    done = install_issued(home, file)
    audit_key_change(
        home, user, "pki.install", "key:node", {"party": done.party, "rotated": done.rotated}
    )
    ca_cert = NodePaths(home).ca_cert
    doc = {
        "installed": "certificates",
        "party": done.party,
        "rotation": done.rotated,
        "tls_names": [*done.tls_dns, *done.tls_ips],
        "fingerprint": _fingerprint(ca_cert),
    }
    report_done(
        as_json,
        doc,
        _("Certificates of {party} installed (rotation: {rotated}); TLS names: {names}").format(
            party=done.party, rotated=done.rotated, names=", ".join(done.tls_dns + done.tls_ips)
        ),
        _fingerprint_line(ca_cert),
    )


@pki_app.command("rotate")
def rotate_cmd(
    home: HomeOpt = None,
    ca: CaOpt = None,
    csr: Annotated[
        Path | None,
        typer.Option("--csr", help=N_("CA kept offline: write a request for the new keys here.")),
    ] = None,
    user: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """New signing and encryption keys; the old ones keep verifying and decrypting messages
    in flight until their certificates expire. The running node announces them to the peer.

    \b
    Examples:
      ctop-node pki rotate --home /var/lib/ctop
      ctop-node pki rotate --csr kz-next.csr --home /var/lib/ctop
    """
    home = home or default_home()
    config = NodeConfig.load(home)
    if csr is not None:
        tls_dns, tls_ips = tls_names_of(load_certificate(NodePaths(home).tls_cert))
        make_request(
            home,
            config.party,
            csr,
            dns=tuple(tls_dns),
            ips=tuple(tls_ips),
            keys_dir=NodePaths(home).keys / "next",
        )
        fp = _request_fingerprint(csr)
        report_done(
            as_json,
            {"request": str(csr), "request_sha256": fp},
            _(
                "New keys made; request written to {request} (SHA-256 {fp}): `pki sign` it at "
                "the Party CA, then `pki install` the answer"
            ).format(request=csr, fp=fp),
        )
        return
    sign_kid, enc_kid = rotate_keys(home, _ca_of(home, ca))
    audit_key_change(
        home,
        user,
        "pki.rotate",
        "key:node",
        {"signing": sign_kid.hex(), "encryption": enc_kid.hex()},
    )
    report_done(
        as_json,
        {"signing_kid": sign_kid.hex(), "encryption_kid": enc_kid.hex()},
        _(
            "Keys rotated: signing {sign}, encryption {enc}; the old ones are kept in retired/"
        ).format(sign=sign_kid.hex(), enc=enc_kid.hex()),
    )


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(pki_app, name="pki")
