"""The copies of the technical conditions under docs/tc/ are what the code generates today."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctop_node.cli.tc import write_publication
from ctop_node.i18n import LANGUAGES
from ctop_node.tc import DEFAULT_REGISTRY

DOCS = Path(__file__).parents[3] / "docs" / "tc"


@pytest.mark.parametrize("version", sorted(DEFAULT_REGISTRY.versions))
def test_published_files_are_current(version: int, tmp_path: Path) -> None:
    written = write_publication(DEFAULT_REGISTRY.get(version), tmp_path, list(LANGUAGES))
    published = DOCS / f"v{version}"
    stale = [
        p.name
        for p in written
        if not (published / p.name).exists() or (published / p.name).read_bytes() != p.read_bytes()
    ]
    assert not stale, (
        f"docs/tc/v{version} is out of date ({', '.join(stale)}): run "
        f"ctop-node tc doc --version {version} --out docs/tc/v{version}"
    )
