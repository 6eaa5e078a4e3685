"""The rulesets a server serves: loaded from a folder, reloaded without a restart.

A changed file is compiled aside and swapped in with one reference assignment,
so an in-flight evaluation keeps the version it started with and no reader ever
takes a lock. A file that fails to check is refused: the last good version keeps
serving and the errors are kept for ``ListRulesets`` and the log. Recent versions
stay reachable by (name, version) so a sale can be committed with the version
the customer was quoted.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cachetools import LRUCache

import dsl
from engine.compiled import CompiledRuleset, compile_ruleset
from engine.errors import RuleErrors

__all__ = ["FileState", "RulesetRegistry", "UnknownRuleset"]


class UnknownRuleset(LookupError):
    """No ruleset (or no such version of it) is loaded."""

    def __init__(self, name: str, version: str | None = None, known: tuple[str, ...] = ()) -> None:
        what = f"ruleset {name!r}" + (f" version {version!r}" if version else "")
        hint = f"; loaded: {', '.join(known)}" if known else ""
        super().__init__(f"{what} is not loaded{hint}")
        self.name = name
        self.version = version


@dataclass(frozen=True, slots=True)
class FileState:
    """What the registry knows of one ruleset file."""

    path: str
    name: str | None  # the ruleset's name once a version of it compiled
    compiled: CompiledRuleset | None
    source_hash: str  # sha256 of the bytes last read, good or bad
    loaded_at: datetime | None
    last_error: str | None = None
    error_at: datetime | None = field(default=None)


Listener = Callable[[str, FileState], None]


class RulesetRegistry:
    """Name -> compiled ruleset, fed from ``folder/*.rules``."""

    def __init__(
        self, folder: Path | str, *, keep_versions: int = 32, on_event: Listener | None = None
    ) -> None:
        self.folder = Path(folder)
        self._files: dict[str, FileState] = {}
        self._by_name: dict[str, CompiledRuleset] = {}
        self._versions: LRUCache[tuple[str, str], CompiledRuleset] = LRUCache(maxsize=keep_versions)
        self._lock = threading.Lock()  # writers only; readers use the current dict reference
        self._on_event = on_event or (lambda event, state: None)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # ------------------------------------------------------------------ reading

    def get(self, name: str, version: str | None = None) -> CompiledRuleset:
        """The serving version of ``name``, or a specific recent ``version`` of it."""
        current = self._by_name.get(name)
        if version is None or (current is not None and current.version == version):
            if current is None:
                raise UnknownRuleset(name, None, tuple(sorted(self._by_name)))
            return current
        old = self._versions.get((name, version))
        if old is None:
            raise UnknownRuleset(name, version, tuple(sorted(self._by_name)))
        return old

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_name))

    def files(self) -> tuple[FileState, ...]:
        """Every file seen, good or refused, in path order."""
        return tuple(self._files[p] for p in sorted(self._files))

    @property
    def ready(self) -> bool:
        """At least one ruleset is serving."""
        return bool(self._by_name)

    # ------------------------------------------------------------------ loading

    def refresh(self) -> list[FileState]:
        """Load new and changed files, drop deleted ones; returns the states that changed."""
        with self._lock:
            changed = []
            present = {str(p): p for p in sorted(self.folder.glob("*.rules"))}
            for key, path in present.items():
                state = self._load_file(key, path)
                if state is not None:
                    changed.append(state)
            for key in [k for k in self._files if k not in present]:
                gone = self._files.pop(key)
                self._publish()
                self._on_event("ruleset_removed", gone)
                changed.append(gone)
            return changed

    def _load_file(self, key: str, path: Path) -> FileState | None:
        try:
            data = path.read_bytes()
        except OSError as exc:  # deleted or unreadable between glob and read
            return self._refuse(key, "", f"{path}: cannot read: {exc.strerror or exc}")
        digest = hashlib.sha256(data).hexdigest()
        previous = self._files.get(key)
        if previous is not None and previous.source_hash == digest:
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._refuse(key, digest, f"{path}: not UTF-8 text (byte {exc.start})")
        try:
            compiled = compile_ruleset(dsl.load(text, str(path)))
        except RuleErrors as exc:
            return self._refuse(key, digest, str(exc))
        clash = next(
            (s.path for k, s in self._files.items() if k != key and s.name == compiled.name and s.compiled),
            None,
        )
        if clash is not None:
            return self._refuse(
                key, digest, f"{path}: ruleset {compiled.name!r} is already loaded from {clash}"
            )
        now = datetime.now(UTC)
        state = FileState(key, compiled.name, compiled, digest, now)
        self._files[key] = state
        self._versions[(compiled.name, compiled.version)] = compiled
        self._publish()
        self._on_event("ruleset_loaded", state)
        return state

    def _refuse(self, key: str, digest: str, error: str) -> FileState:
        """Keep the last good version of the file serving and remember why the new one was refused."""
        previous = self._files.get(key)
        now = datetime.now(UTC)
        if previous is None:
            state = FileState(key, None, None, digest, None, error, now)
        else:
            state = FileState(key, previous.name, previous.compiled, digest, previous.loaded_at, error, now)
        self._files[key] = state
        self._on_event("ruleset_refused", state)
        return state

    def _publish(self) -> None:
        """Swap in a new name -> version map with one assignment (readers never lock)."""
        self._by_name = {
            s.name: s.compiled for s in self._files.values() if s.compiled is not None and s.name
        }

    # ------------------------------------------------------------------ watching

    def watch(self, interval: float = 1.0) -> None:
        """Poll the folder every ``interval`` seconds in a daemon thread until :meth:`close`."""
        if self._watcher is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.refresh()
                except Exception as exc:  # keep serving; the next poll tries again
                    self._on_event(
                        "ruleset_watch_failed", FileState(str(self.folder), None, None, "", None, str(exc))
                    )

        self._watcher = threading.Thread(target=loop, name="ruleset-watcher", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None
