"""Programme versions published to the ledger database, for every server at once.

``promo publish FOLDER --db URL`` checks a programme (parse, semantic checks, compile, every
example) and stores its text in ``published_versions``; servers started with
``--rulesets-from-db`` poll that table and serve the newest version of each programme,
switching within a poll interval. The switch is the folder registry's: the new version is
compiled aside and swapped in with one reference assignment, so a call in flight keeps the
version it started with. A stored version that fails to load here (a newer server's syntax,
say) is refused like a bad file: the last good one keeps serving.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import func, insert, select

import dsl
from engine.check.run_examples import run_examples
from engine.compiled import CompiledRuleset, compile_ruleset
from engine.errors import RuleError, RuleErrors
from server.rulesets.registry import FileState, RulesetRegistry
from server.storage.models import PublishedVersion
from server.storage.store import Ledger
from server.storage.tx import in_transaction

__all__ = ["PublishedRegistry", "publish"]


def publish(ledger: Ledger, compiled: CompiledRuleset, published_by: str = "") -> bool:
    """Store ``compiled`` (checked by the caller) as its programme's newest version; False when it
    already is (publishing the same text twice changes nothing)."""
    source = compiled.ruleset.source_text

    def work(session) -> bool:  # type: ignore[no-untyped-def]
        newest = session.scalar(
            select(PublishedVersion.digest)
            .where(PublishedVersion.programme == compiled.name)
            .order_by(PublishedVersion.id.desc())
            .limit(1)
        )
        if newest == compiled.digest:
            return False
        session.execute(
            insert(PublishedVersion).values(
                programme=compiled.name,
                digest=compiled.digest,
                source=source,
                published_by=published_by,
                created_at=datetime.now(UTC),
            )
        )
        return True

    return in_transaction(ledger.sessions, work)


class PublishedRegistry(RulesetRegistry):
    """The registry, fed from ``published_versions`` instead of a folder (same reading side)."""

    def __init__(self, ledger: Ledger, *, keep_versions: int = 32) -> None:
        super().__init__("<published>", keep_versions=keep_versions)
        self.ledger = ledger

    def refresh(self) -> list[FileState]:
        """Load the newest published version of each programme that changed since the last look."""
        newest = in_transaction(self.ledger.sessions, _newest)
        with self._lock:
            changed = []
            for programme, digest, source in newest:
                key = f"db:{programme}"
                previous = self._files.get(key)
                if previous is not None and previous.source_hash == digest:
                    continue
                changed.append(self._load_published(key, programme, digest, source))
            return changed

    def _load_published(self, key: str, programme: str, digest: str, source: str) -> FileState:
        try:
            version = compile_ruleset(dsl.load(source, programme))
            failures = run_examples(version)
        except (RuleErrors, RuleError) as exc:
            return self._refuse(key, digest, f"published {programme} {digest[:12]}: {exc}")
        except Exception as exc:  # a compiler bug: refuse this version, keep the others
            return self._refuse(key, digest, f"published {programme}: internal error: {exc!r}")
        if failures:
            return self._refuse(key, digest, str(RuleErrors(failures)))
        if hashlib.sha256(source.encode("utf-8")).hexdigest() != digest or version.name != programme:
            return self._refuse(key, digest, f"published {programme} {digest[:12]}: its text does not match")
        now = datetime.now(UTC)
        state = FileState(key, version.name, version, digest, now)
        self._files[key] = state
        with self._versions_lock:
            self._versions[(version.name, version.version)] = (version, now)
        self._publish()
        self._emit("ruleset_loaded", state)
        return state


def _newest(session) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    last = select(func.max(PublishedVersion.id)).group_by(PublishedVersion.programme).scalar_subquery()
    rows = session.execute(
        select(PublishedVersion.programme, PublishedVersion.digest, PublishedVersion.source)
        .where(PublishedVersion.id.in_(last))
        .order_by(PublishedVersion.programme)
    )
    return [tuple(r) for r in rows]
