"""The customs-control part of the demo: a discrepancy and a control result, made the way an
arrival officer makes them.

The demo's arrival officer logs in at CN over HTTP (``POST /login``), picks a container of a
record KZ announced, fills in the control-result form (``/ui/control/KZ/...``) with a seal
and a gross mass other than the declared ones and decides "held". CN computes the
discrepancies from these facts (``seal.differs``, ``mass.beyond_tolerance``) and its control
sender returns the result to KZ as a signed CONTROL_RESULT; the demo waits until KZ's API
shows it linked to KZ's record. Nothing here writes to a database.
"""

from __future__ import annotations

import re
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from ctop_node.errors import CtopError
from ctop_node.i18n import _
from ctop_node.localnet import LocalNode

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
OFFICE = "CN-ARRIVAL-DEMO"
MASS_FOUND = Decimal("1.05")  # 5 % over the declared gross mass: beyond the 2 % tolerance


@dataclass(frozen=True)
class ControlDemo:
    record_id: str
    container: str
    train_key: str
    discrepancies: tuple[str, ...]
    decision: str
    state_at_cn: str  # the control result's sending state at CN: delivered
    at_kz: bool  # KZ's API shows the result linked to its record
    urls: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "container": self.container,
            "train_key": self.train_key,
            "discrepancies": list(self.discrepancies),
            "decision": self.decision,
            "state_at_cn": self.state_at_cn,
            "at_kz": self.at_kz,
            "urls": self.urls,
        }


def _fail(what: str) -> CtopError:
    return CtopError(f"control demo: {what}", code="demo.control")


def _csrf(html: str, what: str) -> str:
    found = _CSRF.search(html)
    if found is None:
        raise _fail(f"no form token on {what}")
    return found.group(1)


def login(node: LocalNode, user: str, password: str, timeout: float) -> httpx.Client:
    """A client holding the session cookie of ``user`` at ``node`` (the login form, as a
    browser sends it)."""
    client = httpx.Client(base_url=node.api_url, timeout=timeout)
    page = client.get("/login")
    page.raise_for_status()
    answer = client.post(
        "/login",
        data={"csrf": _csrf(page.text, "/login"), "username": user, "password": password},
    )
    if answer.status_code != 303 or "ctop_session" not in client.cookies:
        client.close()
        raise _fail(f"{user} could not log in at {node.party} ({answer.status_code})")
    return client


def _pick(cn: httpx.Client, origin: str) -> tuple[dict[str, Any], int]:
    """A record of ``origin`` stored at CN with a sealed container: (its body, the index of
    that container)."""
    listed = cn.get(
        "/api/v1/records", params={"origin_party": origin, "direction": "in", "limit": 50}
    )
    listed.raise_for_status()
    for summary in listed.json()["records"]:
        got = cn.get(
            f"/api/v1/records/{quote(summary['record_id'], safe='')}",
            params={"origin_party": origin},
        )
        got.raise_for_status()
        body: dict[str, Any] = got.json()["body"]
        for i, c in enumerate(body.get("containers") or ()):
            if c.get("seals") and c.get("gross_mass_kg"):
                return body, i
    raise _fail(f"no record of {origin} with a sealed container at CN")


def _other_seal(seal: str) -> str:
    """The declared seal number with its last digit changed: what a swapped seal looks like."""
    last = seal[-1]
    swapped = str((int(last) + 1) % 10) if last.isdigit() else "0"
    return seal[:-1] + swapped


def run_control_demo(
    kz: LocalNode, cn: LocalNode, user: str, password: str, *, timeout: float
) -> ControlDemo:
    """Record the control result at CN, wait until KZ shows it; the caller prints the URLs."""
    with closing(login(cn, user, password, timeout)) as at_cn:
        body, index = _pick(at_cn, kz.party)
        rid = body["record_id"]
        container = body["containers"][index]
        number = str(container["number"])
        where = at_cn.get(f"/api/v1/containers/{quote(number, safe='')}")
        where.raise_for_status()
        key = str(where.json()["containers"][0]["train_key"])
        form_path = f"/ui/control/{kz.party}/{quote(rid, safe='')}"
        form_page = at_cn.get(form_path)
        form_page.raise_for_status()
        declared = [str(s) for s in container["seals"]]
        mass = Decimal(str(container["gross_mass_kg"])) * MASS_FOUND
        form = {
            "csrf": _csrf(form_page.text, form_path),
            "arrived_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
            "office": OFFICE,
            "seal_status": "intact",
            "findings": _(
                "Seal number differs from the declaration and the container is heavier than "
                "declared; goods held for inspection"
            ),
            "decision": "held",
        }
        for i, c in enumerate(body["containers"]):
            form[f"number_{i}"] = str(c["number"])
        form[f"seals_{index}"] = ", ".join([_other_seal(declared[0]), *declared[1:]])
        form[f"mass_{index}"] = str(mass.quantize(Decimal("0.001")))
        sent = at_cn.post(form_path, data=form)
        if sent.status_code != 303:
            raise _fail(f"the control-result form answered {sent.status_code}: {sent.text[:300]}")
        found = at_cn.get(
            f"/api/v1/records/{quote(rid, safe='')}/discrepancies",
            params={"origin_party": kz.party},
        )
        found.raise_for_status()
        codes = tuple(d["code"] for d in found.json()["discrepancies"])
        results_path = f"/api/v1/records/{quote(rid, safe='')}/control-results"
        deadline = time.monotonic() + timeout
        with closing(login(kz, user, password, timeout)) as at_kz:
            while True:
                ours = at_cn.get(results_path, params={"origin_party": kz.party})
                theirs = at_kz.get(results_path, params={"origin_party": kz.party})
                ours.raise_for_status()
                theirs.raise_for_status()
                state = ours.json()["control_results"][-1]["state"]
                linked = any(r["direction"] == "in" for r in theirs.json()["control_results"])
                if linked and state == "delivered":
                    break
                if time.monotonic() > deadline:
                    raise _fail(f"not back at KZ within {timeout} s (state at CN: {state})")
                time.sleep(0.1)  # polling a condition with a deadline
    return ControlDemo(
        record_id=rid,
        container=number,
        train_key=key,
        discrepancies=codes,
        decision="held",
        state_at_cn=state,
        at_kz=linked,
        urls={
            "cn_train": f"{cn.api_url}/ui/trains/{quote(key, safe='')}",
            "cn_container": f"{cn.api_url}/ui/containers/{quote(number, safe='')}",
            "cn_record": f"{cn.api_url}/ui/records/{kz.party}/{quote(rid, safe='')}",
            "kz_record": f"{kz.api_url}/ui/records/{kz.party}/{quote(rid, safe='')}",
        },
    )
