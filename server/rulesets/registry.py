"""The rulesets a server serves: loaded from a folder, reloaded without a restart.

The folder holds programme folders (``NAME/programme.rules`` and its campaign files, loaded
as one version: dsl.programme) and single ``*.rules`` files (a programme with no campaigns).

A changed file is compiled aside and swapped in with one reference assignment,
so an in-flight evaluation keeps the version it started with and no reader ever
takes a lock. A file that fails to check is refused: the last good version keeps
serving and the errors are kept for ``ListRulesets`` and the log. "Fails to
check" means what ``promo check`` means: a parse or semantic error, an embedded
example whose expectation does not hold, or a worst case above the ruleset's own
``max_discount`` (engine.analysis). Recent versions stay reachable by
(name, version) so a sale can be committed with the version the customer was quoted.
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
from dsl.programme import PROGRAMME_FILE, bundle_text, read_folder
from engine.analysis import ceiling_refusal
from engine.check.run_examples import run_examples
from engine.compiled import CompiledRuleset, compile_ruleset
from engine.errors import RuleError, RuleErrors

__all__ = ["FileState", "RulesetRegistry", "UnknownRuleset"]


class UnknownRuleset(LookupError):
    """No ruleset (or no such version of it) is loaded."""

    def __init__(self, name: str, version: str | None = None, known: tuple[str, ...] = ()) -> None:
        what = f"ruleset {_cut(name)}" + (f" version {_cut(version)}" if version else "")
        hint = f"; loaded: {', '.join(known)}" if known else ""
        super().__init__(f"{what} is not loaded{hint}")
        self.name = name
        self.version = version


def _cut(value: str) -> str:
    """At most 40 characters of a name the caller sent: an error must not echo a megabyte back."""
    return repr(value) if len(value) <= 40 else f"{value[:40]!r}... ({len(value)} characters)"


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
    """Name -> compiled ruleset, fed from ``folder/*.rules`` and ``folder/*/programme.rules``."""

    def __init__(
        self, folder: Path | str, *, keep_versions: int = 32, on_event: Listener | None = None
    ) -> None:
        self.folder = Path(folder)
        self._files: dict[str, FileState] = {}
        self._by_name: dict[str, CompiledRuleset] = {}
        # (name, version) -> (compiled, loaded at). An LRUCache reorders itself on every read, so
        # even readers take _versions_lock; it is never held during a compile.
        self._versions: LRUCache[tuple[str, str], tuple[CompiledRuleset, datetime]] = LRUCache(
            maxsize=keep_versions
        )
        self._versions_lock = threading.Lock()
        self._lock = threading.Lock()  # writers only; readers use the current dict reference
        self._listeners: list[Listener] = [on_event] if on_event else []
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
        with self._versions_lock:
            old = self._versions.get((name, version))
        if old is None:
            raise UnknownRuleset(name, version, tuple(sorted(self._by_name)))
        return old[0]

    def recent_versions(self, name: str) -> tuple[str, ...]:
        """The versions of ``name`` still kept for :meth:`get`, most recently loaded first."""
        with self._versions_lock:
            kept = [(at, key[1]) for key, (_, at) in self._versions.items() if key[0] == name]
        return tuple(version for _, version in sorted(kept, reverse=True))

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_name))

    def files(self) -> tuple[FileState, ...]:
        """Every file seen, good or refused, in path order."""
        files = self._files.copy()  # one C-level copy: a reload may be changing the dict meanwhile
        return tuple(files[p] for p in sorted(files))

    @property
    def ready(self) -> bool:
        """At least one ruleset is serving."""
        return bool(self._by_name)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(event, state)`` after every load, refusal and removal (under the writer lock)."""
        self._listeners.append(listener)

    def _emit(self, event: str, state: FileState) -> None:
        for listener in tuple(self._listeners):
            listener(event, state)

    # ------------------------------------------------------------------ loading

    def refresh(self) -> list[FileState]:
        """Load new and changed files, drop deleted ones; returns the states that changed.

        A missing folder raises FileNotFoundError rather than reading as "every file was
        deleted": an unmounted share must not take every ruleset out of service.
        """
        if not self.folder.is_dir():
            raise FileNotFoundError(f"ruleset folder {self.folder} does not exist")
        with self._lock:
            changed = []
            present = {str(p): p for p in sorted(self.folder.glob("*.rules"))}
            present.update((str(p.parent), p.parent) for p in sorted(self.folder.glob(f"*/{PROGRAMME_FILE}")))
            for key, path in present.items():
                state = self._load_file(key, path)
                if state is not None:
                    changed.append(state)
            for key in [k for k in self._files if k not in present]:
                gone = self._files.pop(key)
                self._publish()
                self._emit("ruleset_removed", gone)
                changed.append(gone)
            return changed

    def _load_file(self, key: str, path: Path) -> FileState | None:
        files: dict[str, str] = {}
        try:
            if path.is_dir():
                files = read_folder(path)
                data = bundle_text(files).encode("utf-8")
            else:
                data = path.read_bytes()
        except OSError as exc:  # deleted or unreadable between glob and read
            return self._refuse(key, "", f"{path}: cannot read: {exc.strerror or exc}")
        except UnicodeDecodeError as exc:
            return self._refuse(key, "", f"{path}: a file is not UTF-8 text (byte {exc.start})")
        digest = hashlib.sha256(data).hexdigest()
        previous = self._files.get(key)
        if previous is not None and previous.source_hash == digest:
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._refuse(key, digest, f"{path}: not UTF-8 text (byte {exc.start})")
        try:
            ruleset = dsl.load_files(files, str(path)) if path.is_dir() else dsl.load(text, str(path))
            compiled = compile_ruleset(ruleset)
            failures = run_examples(compiled)
            too_deep = None if failures else ceiling_refusal(compiled, as_of=datetime.now(UTC).date())
        except (RuleErrors, RuleError) as exc:
            return self._refuse(key, digest, str(exc))
        except Exception as exc:  # a compiler bug: refuse the file (once), never stop the other files
            return self._refuse(key, digest, f"{path}: internal error while compiling: {exc!r}")
        if failures:
            return self._refuse(key, digest, str(RuleErrors(failures)))
        if too_deep is not None:
            return self._refuse(key, digest, str(too_deep))
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
        with self._versions_lock:
            self._versions[(compiled.name, compiled.version)] = (compiled, now)
        self._publish()
        self._emit("ruleset_loaded", state)
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
        self._emit("ruleset_refused", state)
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
                    self._emit(
                        "ruleset_watch_failed", FileState(str(self.folder), None, None, "", None, str(exc))
                    )

        self._watcher = threading.Thread(target=loop, name="ruleset-watcher", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None
