"""Deliberately broken peer nodes for the conformance kit's own tests: the real peer endpoint
of a node home with one fault built in, run as a separate process with real mutual TLS.

    python -m tests.e2e._broken_peer --home H --port P --fault skip-signature
        signatures are not checked (any bytes in the signature field pass)
    python -m tests.e2e._broken_peer --home H --port P --fault revive-cancelled
        a CANCELLATION is acknowledged but forgotten, so a later AMENDMENT revives the record

The kit must fail against each and name the scenarios that catch the fault.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509

from ctop_node.config import NodeConfig
from ctop_node.crypto import cose
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore
from ctop_node.exchange.receive import ItemResult, Receiver
from ctop_node.online.endpoint import peer_app
from ctop_node.online.server import peer_tls_files, run_peer_server
from ctop_node.store import open_store
from ctop_node.store.inbox import AnswerFactory, Inbox, InboxMessage, Verdict

FAULTS = ("skip-signature", "revive-cancelled")


class ForgetsCancellations(Receiver):
    """Answers a valid CANCELLATION with a signed RECEIPT without storing it."""

    def _prepare(
        self, raw: bytes, channel: str, *rest: Any
    ) -> ItemResult | tuple[InboxMessage, AnswerFactory]:
        prepared = super()._prepare(raw, channel, *rest)
        if isinstance(prepared, tuple):
            msg, factory = prepared
            if msg.type == "CANCELLATION" and not msg.errors:
                return ItemResult("receipt", factory(Verdict("RECEIPT", "applied")), "", "applied")
        return prepared


def _skip_signature_check(
    alg: str, certificate: x509.Certificate, signature: bytes, to_be_signed: bytes
) -> None:
    """Stands in for ``cose.check_signature``: the fault under test."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e._broken_peer")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fault", choices=FAULTS, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    config = NodeConfig.load(args.home)
    receiver_class = Receiver
    if args.fault == "skip-signature":
        cose.check_signature = _skip_signature_check  # verify1 looks it up in its module
    else:
        receiver_class = ForgetsCancellations
    with open_store(config.db_url) as store:
        receiver = receiver_class(
            config.party,
            Inbox(store.engine),
            SoftwareSigner.from_home(args.home),
            SoftwareDecryptor.from_home(args.home),
            BundleTrustStore.from_home(args.home),
        )
        run_peer_server(peer_app(receiver), "127.0.0.1", args.port, peer_tls_files(args.home))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
