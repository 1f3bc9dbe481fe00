"""Errors of the crypto domain, each with a stable code the peer and the tests rely on.

CryptoError                 (ctop_node.errors)
├── MalformedMessage        crypto.malformed        not a well-formed envelope
├── UnknownKey              crypto.unknown_key      kid names no trusted certificate
├── BadSignature            crypto.bad_signature    signature does not verify
├── CertExpired             crypto.cert_expired     certificate not valid at that time
├── CertRevoked             crypto.cert_revoked     serial on the Party CA's CRL
├── UntrustedChain          crypto.untrusted_chain  not issued by the Party CA (or bad CRL)
├── SenderMismatch          crypto.sender_mismatch  header.sender is not the cert's Party
├── WrongRecipient          crypto.wrong_recipient  the message is not addressed to us
├── DecryptFailed           crypto.decrypt          payload cannot be decrypted
├── DigestMismatch          crypto.digest_mismatch  payload differs from its digest
└── PkiError                crypto.pki.*            key files, certificates, trust bundles
"""

from __future__ import annotations

from ctop_node.errors import CryptoError


class MalformedMessage(CryptoError):
    code = "crypto.malformed"


class UnknownKey(CryptoError):
    code = "crypto.unknown_key"


class BadSignature(CryptoError):
    code = "crypto.bad_signature"


class CertExpired(CryptoError):
    code = "crypto.cert_expired"


class CertRevoked(CryptoError):
    code = "crypto.cert_revoked"


class UntrustedChain(CryptoError):
    code = "crypto.untrusted_chain"


class SenderMismatch(CryptoError):
    code = "crypto.sender_mismatch"


class WrongRecipient(CryptoError):
    code = "crypto.wrong_recipient"


class DecryptFailed(CryptoError):
    code = "crypto.decrypt"


class DigestMismatch(CryptoError):
    code = "crypto.digest_mismatch"


class PkiError(CryptoError):
    code = "crypto.pki"
