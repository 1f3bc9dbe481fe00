"""How long every piece of trust material of a node home stays valid: what ``status``
shows and ``status --check`` alerts on.

Levels: ``expired`` (past), ``critical`` (<= 1 day), ``warning`` (<= 7 days), ``notice``
(<= 30 days), ``ok``. A CRL lives 30 days and is re-signed when a third of its life is left,
so for CRLs ``notice`` is normal and only ``warning`` and worse count as near expiry; for
certificates and CAs ``notice`` counts too. A peer's stale CRL is ``expired``: its messages
are refused until it sends a fresh one (trust update) or a new bundle is imported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ctop_node.crypto.interfaces import kid_of
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import load_certificate, load_crl
from ctop_node.crypto.trust import peer_bundles

THRESHOLDS = ((0.0, "expired"), (1.0, "critical"), (7.0, "warning"), (30.0, "notice"))
NEAR = {"expired", "critical", "warning"}


@dataclass(frozen=True, slots=True)
class Expiry:
    party: str  # whose material: this node's Party or a peer's
    item: str  # "ca", "crl", "signing", "encryption", "tls", "signing (retired)"
    ident: str  # kid, serial or CRL number, for the operator
    not_after: dt.datetime
    days_left: float
    level: str

    @property
    def near(self) -> bool:
        """Near expiry in the sense of ``status --check``."""
        return self.level in NEAR or (self.level == "notice" and self.item != "crl")

    def as_dict(self) -> dict[str, object]:
        return {
            "party": self.party,
            "item": self.item,
            "id": self.ident,
            "not_after": self.not_after.isoformat(),
            "days_left": round(self.days_left, 2),
            "level": self.level,
            "near_expiry": self.near,
        }


def level_of(days_left: float) -> str:
    for limit, level in THRESHOLDS:
        if days_left <= limit:
            return level
    return "ok"


def _entry(party: str, item: str, ident: str, end: dt.datetime, now: dt.datetime) -> Expiry:
    days = (end - now).total_seconds() / 86400
    return Expiry(party, item, ident, end, days, level_of(days))


def _cert(party: str, item: str, cert: x509.Certificate, now: dt.datetime) -> Expiry:
    return _entry(party, item, kid_of(cert).hex(), cert.not_valid_after_utc, now)


def _crl(party: str, crl: x509.CertificateRevocationList, now: dt.datetime) -> Expiry:
    end = crl.next_update_utc or crl.last_update_utc
    number = crl.extensions
    try:
        ident = str(number.get_extension_for_class(x509.CRLNumber).value.crl_number)
    except x509.ExtensionNotFound:
        ident = "-"
    return _entry(party, "crl", ident, end, now)


def home_expiry(home: Path, party: str, now: dt.datetime) -> list[Expiry]:
    """Every expiry of the node in ``home`` (own material first, then each peer's)."""
    paths = NodePaths(home)
    out = [
        _cert(party, "ca", load_certificate(paths.ca_cert), now),
        _crl(party, load_crl(paths.crl), now),
        _cert(party, "signing", load_certificate(paths.sign_cert), now),
        _cert(party, "encryption", load_certificate(paths.enc_cert), now),
        _cert(party, "tls", load_certificate(paths.tls_cert), now),
    ]
    for cert in paths.retired_certificates("sign", now):
        # informative: a retired key lapsing is the plan, never an alert
        e = _cert(party, "signing (retired)", cert, now)
        out.append(Expiry(e.party, e.item, e.ident, e.not_after, e.days_left, "ok"))
    for bundle in peer_bundles(home):
        out.append(_cert(bundle.party, "ca", bundle.ca, now))
        out.append(_crl(bundle.party, bundle.crl, now))
        out.append(_cert(bundle.party, "signing", bundle.signing[0], now))
        out.append(_cert(bundle.party, "encryption", bundle.encryption, now))
    return out


def first_problem(items: list[Expiry]) -> Expiry | None:
    """The most urgent near-expiry item, or None when all is well."""
    near = [e for e in items if e.near]
    return min(near, key=lambda e: e.days_left) if near else None
