"""Conformance kit and partner simulator for a foreign implementation of the exchange.

``ctop-node conformance prepare`` makes a kit home (the peer Party's keys plus test-only
material: an expired, a revoked and a backdated signing certificate, a CA the peer never
trusts, a carrier CA for lock images); ``conformance run`` plays the numbered scenarios of
:mod:`.scenarios` against a peer node and judges its answers against ``docs/`` (the spec);
``conformance serve`` is a partner node a foreign team points its system at, which can be
told to play any scenario toward it. See ``docs/conformance.md``.
"""
