"""The trust pusher with a clock moved by the test and a poster that applies the update at
the CN home (the route's own function): pushes on change, re-pushes on the interval,
retries failures, and renews a CRL signed by a CA kept on the node."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ctop_node.crypto.pki import PartyCA, crl_number, load_crl, write_pem
from ctop_node.crypto.trust_update import apply_update
from ctop_node.errors import TransportError
from ctop_node.online.trust_push import TrustPusher, renew_local_crl
from tests._clock import MovableClock
from tests._homes import Home


class Poster:
    """Delivers to CN's home as the trust route would; ``down`` makes it fail."""

    def __init__(self, cn: Home, clock: MovableClock) -> None:
        self.cn, self.clock, self.down, self.sent = cn, clock, False, 0

    def post_trust(self, peer: str, update: bytes) -> dict[str, Any]:
        if self.down:
            raise TransportError("peer down", code="transport.unreachable")
        self.sent += 1
        result = apply_update(self.cn.home, update, "CN", clock=self.clock)
        return {"status": result.status}


def _pusher(kz: Home, poster: Poster, clock: MovableClock) -> TrustPusher:
    return TrustPusher(
        kz.home,
        ["CN"],
        poster,
        clock=clock,
        interval=dt.timedelta(hours=6),
        retry=dt.timedelta(seconds=30),
        renew_crl=False,
    )


def test_pushes_on_change_and_on_the_interval_only(kz: Home, cn: Home) -> None:
    clock = MovableClock()
    poster = Poster(cn, clock)
    pusher = _pusher(kz, poster, clock)
    assert [r.detail for r in pusher.run_once()] == ["unchanged"]  # first start: push
    clock.advance(minutes=5)
    assert [r.pushed for r in pusher.run_once()] == [False] and poster.sent == 1
    write_pem(kz.paths.crl, PartyCA.load(kz.paths.ca_dir, clock=clock).resign_crl())
    assert [r.detail for r in pusher.run_once()] == ["applied"]  # changed: at once
    clock.advance(hours=6)
    assert [r.pushed for r in pusher.run_once()] == [True] and poster.sent == 3


def test_a_failed_push_is_retried(kz: Home, cn: Home) -> None:
    clock = MovableClock()
    poster = Poster(cn, clock)
    pusher = _pusher(kz, poster, clock)
    poster.down = True
    assert [r.ok for r in pusher.run_once()] == [False]
    assert pusher.state("CN")["error"].startswith("[transport.unreachable]")
    poster.down = False
    clock.advance(seconds=10)
    assert [r.pushed for r in pusher.run_once()] == [False]  # not before the retry delay
    clock.advance(seconds=30)
    assert [r.ok for r in pusher.run_once()] == [True]


def test_a_local_ca_renews_the_crl_at_a_third_of_its_life(kz: Home, tmp_path: Path) -> None:
    first = load_crl(kz.paths.crl)
    assert first.next_update_utc is not None
    assert not renew_local_crl(kz.home, first.next_update_utc - dt.timedelta(days=11))
    assert renew_local_crl(kz.home, first.next_update_utc - dt.timedelta(days=9))
    assert crl_number(load_crl(kz.paths.crl)) == crl_number(first) + 1


def test_no_renewal_without_the_ca_key(kz: Home, tmp_path: Path) -> None:
    kz.paths.ca_dir.rename(tmp_path / "offline")
    assert not renew_local_crl(kz.home, dt.datetime.now(dt.UTC) + dt.timedelta(days=40))


def test_a_refused_update_waits_for_a_change(kz: Home, cn: Home) -> None:
    from ctop_node.online.interfaces import HttpStatusError

    clock = MovableClock()

    class Refusing(Poster):
        def post_trust(self, peer: str, update: bytes) -> dict[str, Any]:
            self.sent += 1
            raise HttpStatusError("refused", status=403, peer_code="crypto.trust_update.crl")

    poster = Refusing(cn, clock)
    pusher = _pusher(kz, poster, clock)
    pusher.run_once()
    clock.advance(minutes=10)
    pusher.run_once()
    assert poster.sent == 1  # the same material would be refused again
    write_pem(kz.paths.crl, PartyCA.load(kz.paths.ca_dir, clock=clock).resign_crl())
    pusher.run_once()
    assert poster.sent == 2  # changed: pushed at once


def test_expired_retired_keys_are_pruned(kz: Home, cn: Home) -> None:
    from ctop_node.crypto.node import rotate_keys

    old_cert = kz.signer.certificate
    rotate_keys(kz.home, kz.ca)
    clock = MovableClock()
    pusher = _pusher(kz, Poster(cn, clock), clock)
    pusher.run_once()
    assert len(kz.paths.retired("sign")) == 1  # still valid: kept
    clock.now = old_cert.not_valid_after_utc + dt.timedelta(seconds=1)
    pusher.run_once()
    assert kz.paths.retired("sign") == [] and kz.paths.retired("enc") == []
