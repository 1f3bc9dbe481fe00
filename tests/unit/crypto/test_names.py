"""TLS subjectAltNames and SHA-256 fingerprints as operators type and read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctop_node.crypto.errors import PkiError
from ctop_node.crypto.pki import PartyCA


@pytest.mark.parametrize(
    ("dns", "ips"),
    [(["10.0.0.1"], []), (["bad name"], []), ([], ["not-an-ip"]), ([], []), (["a" * 64], [])],
)
def test_bad_tls_names_are_refused(dns: list[str], ips: list[str]) -> None:
    from ctop_node.crypto.names import tls_names

    with pytest.raises(PkiError) as err:
        tls_names(dns, ips)
    assert err.value.code == "crypto.pki.tls_name"


def test_fingerprint_forms_compare_equal(tmp_path: Path) -> None:
    from ctop_node.crypto.names import fingerprint, normalise_fingerprint

    ca = PartyCA.create("KZ", tmp_path / "ca")
    fp = fingerprint(ca.certificate)
    assert len(fp) == 95
    assert normalise_fingerprint(fp.upper().replace(":", "")) == fp
    assert normalise_fingerprint(fp.replace(":", " ")) == fp
    with pytest.raises(PkiError) as err:
        normalise_fingerprint("abcd")
    assert err.value.code == "crypto.pki.fingerprint_format"
