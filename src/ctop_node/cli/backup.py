"""``ctop-node backup`` and ``ctop-node restore``: a node's home and database in one file,
encrypted under a passphrase.

The file (``crypto.sealed_stream``: scrypt + AES-256-GCM in 1 MiB chunks) holds a tar of
``home/`` (node.json, keys, certificates, peers' trust bundles), ``database/`` (a consistent
online copy: ``store.backup``) and ``manifest.json`` (format, Party, time, version, schema
revision, SHA-256 of every file). A restore goes to a new home: everything is extracted to a
staging folder beside it and checked (every chunk authenticated, every digest matched) before
the home appears, then the database is put back and ``node.json`` pointed at it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
import sys
import tarfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import typer

from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, err_console, print_json
from ctop_node.config import CONFIG_FILE, NodeConfig, default_home, sqlite_url, write_node_config
from ctop_node.crypto.sealed_stream import OpeningReader, SealingWriter, check_passphrase
from ctop_node.errors import UsageError
from ctop_node.i18n import N_, _
from ctop_node.store import open_store
from ctop_node.store.backup import DatabaseCopy, restore, snapshot, sqlite_files
from ctop_node.store.migrate import current_revision

FORMAT = "ctop-backup/1"
PASSPHRASE_ENV = "CTOP_BACKUP_PASSPHRASE"
MANIFEST = "manifest.json"
_SKIP_SUFFIXES = (".tmp", ".log", ".restoring")

PassphraseFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help=f"File whose first line is the passphrase (else ${PASSPHRASE_ENV}, else asked).",
    ),
]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _home_files(home: Path, skip: set[Path]) -> list[Path]:
    out = []
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.resolve() not in skip:
            if not path.name.endswith(_SKIP_SUFFIXES):
                out.append(path)
    return out


def make_backup(
    home: Path, out: Path, passphrase: str, *, db_url: str | None = None
) -> dict[str, Any]:
    """Write the backup of the node in ``home`` to ``out`` (0600, atomically); the manifest."""
    check_passphrase(passphrase)
    config = NodeConfig.load(home, db_url=db_url)
    skip = {out.resolve()} | {p.resolve() for p in sqlite_files(config.db_url)}
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.{secrets.token_hex(4)}.tmp"
    staging.mkdir(mode=0o700)
    try:
        with open_store(config.db_url, migrate=False, create=False) as store:
            revision = current_revision(store.engine)
        copy = snapshot(config.db_url, staging)
        files: dict[str, str] = {}
        partial = staging / "backup.part"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw:
            writer = SealingWriter(raw, passphrase)
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for path in _home_files(home, skip):
                    name = "home/" + path.relative_to(home).as_posix()
                    files[name] = _sha256(path)
                    tar.add(path, arcname=name, recursive=False)
                db_name = f"database/{copy.file.name}"
                files[db_name] = _sha256(copy.file)
                tar.add(copy.file, arcname=db_name, recursive=False)
                manifest = {
                    "format": FORMAT,
                    "party": config.party,
                    "created_at": datetime.now(UTC).isoformat(),
                    "ctop_node": version("ctop-node"),
                    "schema_revision": revision,
                    "database": {"kind": copy.kind, "file": db_name, "schema": copy.schema},
                    "files": files,
                }
                data = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
                tar.addfile(info, io.BytesIO(data))
            writer.close()
            raw.flush()
            os.fsync(raw.fileno())
        partial.replace(out)
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _safe(member: tarfile.TarInfo) -> bool:
    parts = PurePosixPath(member.name).parts
    top_ok = member.name == MANIFEST or (len(parts) > 1 and parts[0] in ("home", "database"))
    return (
        top_ok
        and ".." not in parts
        and not member.name.startswith("/")
        and (member.isfile() or member.isdir())
    )


def _extract(file: Path, staging: Path, passphrase: str) -> dict[str, Any]:
    with file.open("rb") as raw:
        reader = OpeningReader(raw, passphrase)
        with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                if not _safe(member):
                    raise UsageError(
                        _("the backup holds an unexpected entry {name}").format(name=member.name),
                        code="usage.backup_entry",
                    )
                tar.extract(member, staging, filter="data")
        reader.read()  # to the end: the last chunk must authenticate too
    try:
        manifest: dict[str, Any] = json.loads((staging / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            _("the backup has no readable manifest"), code="usage.backup_manifest"
        ) from exc
    if manifest.get("format") != FORMAT:
        raise UsageError(
            _("unknown backup format {format}").format(format=manifest.get("format")),
            code="usage.backup_manifest",
        )
    found = {
        p.relative_to(staging).as_posix()
        for p in staging.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }
    files: dict[str, str] = manifest["files"]
    if found != set(files) or any(_sha256(staging / n) != d for n, d in files.items()):
        raise UsageError(
            _("the backup's files differ from its manifest"), code="usage.backup_manifest"
        )
    return manifest


def restore_backup(
    file: Path, home: Path, passphrase: str, *, db_url: str | None = None
) -> dict[str, Any]:
    """Restore the backup ``file`` into the new home ``home`` (absent or empty), its database
    to ``db_url`` (default: SQLite in the new home, or the backed-up node's PostgreSQL URL)."""
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise UsageError(
            _("{path} is not empty: restore into a new home").format(path=home),
            code="usage.restore_target",
        )
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = home.parent / f".{home.name}.{secrets.token_hex(4)}.restoring"
    staging.mkdir(mode=0o700)
    created = False
    try:
        manifest = _extract(file, staging, passphrase)
        db = manifest["database"]
        stored = json.loads((staging / "home" / CONFIG_FILE).read_text("utf-8"))
        url = db_url or (sqlite_url(home) if db["kind"] == "sqlite" else str(stored["db_url"]))
        if home.exists():
            home.rmdir()
        (staging / "home").replace(home)
        created = True
        for folder in (home, *(p for p in home.rglob("*") if p.is_dir())):
            folder.chmod(0o700)  # the home is the node's alone (keys, database)
        restore(DatabaseCopy(db["kind"], staging / db["file"], db.get("schema")), url)
        for path in sqlite_files(url):
            if path.exists():
                path.chmod(0o600)
        write_node_config(home, {**stored, "db_url": url})
        with open_store(url):  # brings an older schema up to date, and proves it opens
            pass
        return {**manifest, "home": str(home), "db_url": url}
    except BaseException:
        if created:
            shutil.rmtree(home, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _passphrase(path: Path | None, *, confirm: bool) -> str:
    if path is not None:
        try:
            return path.read_text("utf-8").splitlines()[0]
        except (OSError, IndexError) as exc:
            raise UsageError(
                _("cannot read a passphrase from {path}").format(path=path),
                code="usage.passphrase",
            ) from exc
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    if not sys.stdin.isatty():
        raise UsageError(
            _("no passphrase: give --passphrase-file or set {env}").format(env=PASSPHRASE_ENV),
            code="usage.passphrase",
        )
    return str(typer.prompt(_("Backup passphrase"), hide_input=True, confirmation_prompt=confirm))


def backup(
    out: Annotated[Path, typer.Option("--out", help=N_("The backup file to write (0600)."))],
    home: HomeOpt = None,
    db: DbOpt = None,
    passphrase_file: PassphraseFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Back up the node (home, keys, database) into one file encrypted with a passphrase.

    The database is copied online: the node may keep running.

    \b
    Examples:
      ctop-node backup --out /backup/kz-2026-11-28.ctopbak --passphrase-file /root/ctop-pass
    """
    home = home or default_home()
    NodeConfig.load(home, db_url=db)  # a wrong home fails before the passphrase is asked
    secret = _passphrase(passphrase_file, confirm=True)
    with err_console.status(_("Backing up {path}").format(path=home)):
        manifest = make_backup(home, out, secret, db_url=db)
    summary = {
        "file": str(out),
        "bytes": out.stat().st_size,
        "party": manifest["party"],
        "files": len(manifest["files"]),
        "database": manifest["database"]["kind"],
        "schema_revision": manifest["schema_revision"],
    }
    if as_json:
        print_json(summary)
        return
    typer.echo(
        _("Backup of node {party} written to {file} ({n} files, {size} bytes)").format(
            party=summary["party"], file=out, n=summary["files"], size=summary["bytes"]
        )
    )


def restore_cmd(
    file: Annotated[Path, typer.Argument(help=N_("A file written by `ctop-node backup`."))],
    home: Annotated[Path, typer.Option("--home", help=N_("The new home (absent or empty)."))],
    db: DbOpt = None,
    passphrase_file: PassphraseFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Restore a backup into a new home; the database goes to --db, else SQLite in that home.

    \b
    Examples:
      ctop-node restore /backup/kz-2026-11-28.ctopbak --home /var/lib/ctop2
      ctop-node restore kz.ctopbak --home /var/lib/ctop2 --db postgresql://ctop@db/ctop --json
    """
    if not file.is_file():
        raise UsageError(_("no backup file at {path}").format(path=file), code="usage.backup_file")
    secret = _passphrase(passphrase_file, confirm=False)
    try:
        with err_console.status(_("Restoring into {path}").format(path=home)):
            done = restore_backup(file, home, secret, db_url=db)
    except tarfile.TarError as exc:
        raise UsageError(
            _("the backup's archive is unreadable: {error}").format(error=exc),
            code="usage.backup_archive",
        ) from exc
    summary = {"home": done["home"], "party": done["party"], "db_url": done["db_url"]}
    if as_json:
        print_json(summary)
        return
    typer.echo(_("Node {party} restored into {path}").format(party=done["party"], path=home))


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore_cmd)
