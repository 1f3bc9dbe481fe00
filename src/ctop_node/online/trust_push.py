"""The node side of trust updates: push this node's trust material to every peer when it
changed (a new CRL, a rotation, a new TLS certificate) and periodically, so that the peer
never has to re-import a bundle by hand (``docs/protocol/trust.md``).

Runs in ``serve`` beside the sender. Per peer the last attempt is kept in
``peers/<PARTY>/pushed.json`` (``{"digest", "at", "ok", "error"}``): a restart does not
push again what the peer already has, a failure is retried after ``retry``.

Each pass also deletes retired keys (``pki rotate``) whose certificates have expired.

When the Party CA key lives on the node (``HOME/ca``, the quick start), the pusher also
re-signs the CRL once less than a third of its life is left, so a node left alone never
lets its CRL go stale. With the CA kept offline (recommended) that is the CA operator's
``pki crl`` and ``pki install``; ``status --check`` warns 30/7/1 days ahead.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ctop_node.config import NodeConfig
from ctop_node.crypto.keyset import node_keys
from ctop_node.crypto.node import NodePaths, prune_retired
from ctop_node.crypto.pki import CA_KEY, CRL_DAYS, Clock, PartyCA, load_crl, utcnow, write_pem
from ctop_node.crypto.trust_update import build_update, content_digest
from ctop_node.errors import CtopError

log = logging.getLogger(__name__)

STATE_FILE = "pushed.json"
DEFAULT_INTERVAL = dt.timedelta(hours=6)
DEFAULT_RETRY = dt.timedelta(seconds=30)


@runtime_checkable
class TrustPoster(Protocol):
    def post_trust(self, peer: str, update: bytes) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class PushResult:
    peer: str
    pushed: bool  # an update was sent (due), whatever the outcome
    ok: bool
    detail: str = ""


def renew_local_crl(home: Path, now: dt.datetime, *, days: int = CRL_DAYS) -> bool:
    """Re-sign the CRL with the CA in ``HOME/ca`` when less than a third of its life is
    left; True when it did. Nothing to do when the CA is kept off the node."""
    paths = NodePaths(home)
    if not (paths.ca_dir / CA_KEY).is_file():
        return False
    crl = load_crl(paths.crl)
    life = crl.next_update_utc - crl.last_update_utc if crl.next_update_utc else None
    if life is not None and crl.next_update_utc is not None:
        if crl.next_update_utc - now > life / 3:
            return False
    ca = PartyCA.load(paths.ca_dir, clock=lambda: now)
    write_pem(paths.crl, ca.resign_crl(days=days))
    log.info("CRL re-signed by the local Party CA, valid %s days", days)
    return True


def push_state(home: Path, peer: str) -> dict[str, Any]:
    """The last trust update push to ``peer`` (``{}`` when none was tried yet)."""
    try:
        data = json.loads((NodePaths(home).peer_dir(peer) / STATE_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class TrustPusher:
    """Pushes the trust update of the node in ``home`` to ``peers`` through ``poster``."""

    def __init__(
        self,
        home: Path,
        peers: list[str],
        poster: TrustPoster,
        *,
        clock: Clock = utcnow,
        interval: dt.timedelta = DEFAULT_INTERVAL,
        retry: dt.timedelta = DEFAULT_RETRY,
        renew_crl: bool = True,
    ) -> None:
        self.home = home
        self.peers = peers
        self.poster = poster
        self.clock = clock
        self.interval = interval
        self.retry = retry
        self.renew_crl = renew_crl

    @classmethod
    def for_node(cls, config: NodeConfig, poster: object) -> TrustPusher | None:
        """The pusher ``serve`` runs, or None when the transport cannot post trust updates
        (an in-memory test transport)."""
        if not isinstance(poster, TrustPoster):
            return None
        from ctop_node.online.peers import PeerConfig

        peers = PeerConfig.load(config.home).parties
        hours = config.node.trust_push_interval_h
        return cls(config.home, peers, poster, interval=dt.timedelta(hours=hours))

    def _state_path(self, peer: str) -> Path:
        return NodePaths(self.home).peer_dir(peer) / STATE_FILE

    def state(self, peer: str) -> dict[str, Any]:
        return push_state(self.home, peer)

    def _save(self, peer: str, state: dict[str, Any]) -> None:
        path = self._state_path(peer)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), "utf-8")
        tmp.replace(path)

    def due(self, peer: str, digest: str, now: dt.datetime) -> bool:
        state = self.state(peer)
        try:
            last = dt.datetime.fromisoformat(state["at"])
        except (KeyError, TypeError, ValueError):
            return True
        if state.get("digest") != digest:
            return True  # changed: push at once (even right after a failed older push)
        # A refused update (4xx) is refused again until our material changes: wait the
        # interval; a network or server failure is retried soon.
        wait = self.interval if state.get("ok") or state.get("refused") else self.retry
        return now - last >= wait

    def run_once(self) -> list[PushResult]:
        now = self.clock()
        if self.renew_crl:
            try:
                renew_local_crl(self.home, now)
            except CtopError as exc:
                log.error("cannot re-sign the CRL with the local CA: %s", exc)
        try:  # retired keys whose certificates expired can verify or open nothing any more
            if prune_retired(self.home, now):
                log.info("expired retired keys deleted")
        except (OSError, CtopError) as exc:
            log.error("cannot prune retired keys: %s", exc)
        try:
            digest = content_digest(self.home, at=now)
        except CtopError as exc:
            log.error("trust update: own trust material unreadable: %s", exc)
            return []
        results = []
        for peer in self.peers:
            if not self.due(peer, digest, now):
                results.append(PushResult(peer, False, True))
                continue
            results.append(self._push(peer, digest, now))
        return results

    def _push(self, peer: str, digest: str, now: dt.datetime) -> PushResult:
        try:
            # read the signer now: after ``pki rotate`` the update is signed with the new key
            signer = node_keys(self.home).signer
            update = build_update(self.home, signer, peer, clock=lambda: now)
            answer = self.poster.post_trust(peer, update)
        except CtopError as exc:
            log.warning(
                "trust update to %s failed: %s",
                peer,
                exc.code,
                extra={"peer": peer, "code": exc.code},
            )
            status = getattr(exc, "status", 0)
            self._save(
                peer,
                {
                    "digest": digest,
                    "at": now.isoformat(),
                    "ok": False,
                    "refused": isinstance(status, int) and 400 <= status < 500,
                    "error": str(exc)[:300],
                },
            )
            return PushResult(peer, True, False, str(exc))
        status = str(answer.get("status"))
        log.info("trust update to %s: %s", peer, status, extra={"peer": peer})
        self._save(peer, {"digest": digest, "at": now.isoformat(), "ok": True, "error": None})
        return PushResult(peer, True, True, status)

    def run_forever(self, stop: threading.Event, check_every: float = 1.0) -> None:
        """Check once per ``check_every`` seconds until ``stop``; never raises."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("trust update pass failed")
            stop.wait(check_every)
