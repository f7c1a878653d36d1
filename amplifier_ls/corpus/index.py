"""The BM25 index over corpus chunks, persisted in diskcache and updated file by file.

`refresh` walks the corpus (names and stat only), re-reads a file only when its size or
mtime changed, and re-chunks it only when its SHA-256 changed. Each file's entry (stat,
digest, chunks, tokens) is stored under `<cache_dir>/corpus`, keyed by absolute path. The
BM25 retriever is rebuilt only when the set of (path, digest) pairs changed, and is stored
with that fingerprint, so that a new process with an unchanged corpus neither chunks nor
indexes anything.

Files passed in `exclude_files` (the document being edited) stay in the index with the
content last indexed, if any, and are left out of `files` and of every search. Switching
documents or saving the one being edited therefore costs no rebuild.

Tokens come from bm25s's tokenizer with its larger English stopword list (`en_plus`), plus a
stemmer that strips plural endings only, so that "notes" matches "note" without PyStemmer.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import bm25s
import diskcache
import numpy as np

from ..settings import CorpusSettings
from .chunk import chunk_text
from .model import Chunk, Skipped
from .scan import CorpusFile, ScanResult, inspect_file, walk_corpus

logger = logging.getLogger(__name__)

INDEX_FORMAT = 1
"""Version of the stored entries. Bump it when chunking, tokenizing or the layout changes."""

_MAX_CANDIDATES = 200
"""Maximum number of chunks whose tokens one search counts, best first."""

_MAX_COUNTERS = 4
"""Token counting functions whose counts are remembered at once (one per backend in practice)."""

_CACHE_ERRORS = (OSError, sqlite3.Error, diskcache.Timeout)
_STALE_ENTRY_ERRORS = (
    pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError, KeyError, ValueError
)

RetrieverSource = Literal["reused", "loaded", "built", "empty"]


@dataclass(frozen=True)
class RefreshReport:
    """Outcome of one `refresh`. File counts compare with the previous refresh of this root."""

    added: int
    updated: int
    """Files whose content changed."""
    removed: int
    unchanged: int
    chunks: int
    """Chunks in the index, excluded files left out."""
    files_read: int
    """Files read from disk because their size or mtime changed, or they were new."""
    files_chunked: int
    """Files chunked and tokenized because their content was new."""
    retriever: RetrieverSource
    """reused: kept the one in memory. loaded: read from the cache. built: indexed now.
    empty: nothing to index."""
    scan: ScanResult


@dataclass(frozen=True)
class _FileEntry:
    relative_path: str
    size: int
    mtime_ns: int
    sha256: str
    chunks: tuple[Chunk, ...] = ()
    tokens: tuple[str, ...] = ()
    """The tokens of each chunk, joined by spaces (tokens never contain one)."""
    reason: str | None = None
    """The reason the file is skipped after reading it (binary, secret, undecodable)."""
    note: str | None = None

    def to_plain(self) -> dict[str, Any]:
        return {
            "relative_path": self.relative_path,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "sha256": self.sha256,
            "chunks": [
                (c.path, c.title, c.heading_path, c.text, c.start, c.index) for c in self.chunks
            ],
            "tokens": list(self.tokens),
            "reason": self.reason,
            "note": self.note,
        }

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> _FileEntry:
        return cls(
            relative_path=data["relative_path"],
            size=data["size"],
            mtime_ns=data["mtime_ns"],
            sha256=data["sha256"],
            chunks=tuple(Chunk(*fields) for fields in data["chunks"]),
            tokens=tuple(data["tokens"]),
            reason=data["reason"],
            note=data["note"],
        )


@dataclass(frozen=True)
class _Snapshot:
    """Everything a search reads, replaced as a whole by `refresh`."""

    fingerprint: str = ""
    chunks: tuple[Chunk, ...] = ()
    """Every indexed chunk, sorted by (path, index); position i is BM25 document i."""
    retriever: bm25s.BM25 | None = None
    scan: ScanResult = field(default_factory=ScanResult)
    excluded_paths: frozenset[str] = frozenset()
    token_counts: dict[Callable[[str], int], dict[int, int]] = field(default_factory=dict, compare=False)
    """Token counts of chunks by counting function, filled in by searches."""


def tokenize(texts: list[str]) -> list[list[str]]:
    """Split texts into lowercase word tokens without English stopwords, plurals made singular."""
    return bm25s.tokenize(
        texts, stopwords="en_plus", stemmer=_stem_plurals, return_ids=False, show_progress=False
    )


def _stem_plurals(words: list[str]) -> list[str]:
    return [_stem_plural(word) for word in words]


def _stem_plural(word: str) -> str:
    """Strip an English plural ending (-ies to -y, -es to -e, -s), which rarely merges unrelated words."""
    if len(word) > 3 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if len(word) > 2 and word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def _document_text(chunk: Chunk) -> str:
    """Text indexed for a chunk: its words plus the file's name, title and enclosing headings."""
    name = str(PurePosixPath(chunk.path).with_suffix(""))
    return "\n".join((name, chunk.title, " ".join(chunk.heading_path), chunk.text))


class CorpusIndex:
    """Search the author's past writing for the passages most related to a query."""

    def __init__(self, root: Path, settings: CorpusSettings, cache_dir: Path | None):
        self.root = root.absolute()
        self.settings = settings
        self._lock = threading.Lock()
        self._snapshot = _Snapshot()
        self._entries: dict[str, _FileEntry] = {}
        self._manifest: _Manifest | None = None
        self._cache: diskcache.Cache | None = None
        if cache_dir is not None:
            location = Path(cache_dir) / "corpus"
            try:
                self._cache = diskcache.Cache(str(location))
            except _CACHE_ERRORS as error:
                logger.warning(
                    "Failed to open the corpus cache at %s (%s), so the index is kept in memory only. "
                    "Set cache.dir to a writable folder to keep it between runs.",
                    location,
                    error,
                )

    @property
    def files(self) -> list[CorpusFile]:
        """Indexed files, sorted by relative path, without the excluded ones."""
        return list(self._snapshot.scan.files)

    @property
    def skipped(self) -> list[Skipped]:
        return list(self._snapshot.scan.skipped)

    @property
    def notes(self) -> dict[str, str]:
        """Relative path to how the file was decoded, for files not in UTF-8."""
        return dict(self._snapshot.scan.notes)

    @property
    def chunk_count(self) -> int:
        snapshot = self._snapshot
        return sum(1 for chunk in snapshot.chunks if chunk.path not in snapshot.excluded_paths)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()

    def refresh(
        self, exclude_files: Iterable[Path] = (), progress: Callable[[str], None] | None = None
    ) -> RefreshReport:
        """Bring the index up to date with the files on disk; see the module docstring."""
        report = progress or (lambda message: None)
        with self._lock:
            report("Scanning the corpus")
            walked = walk_corpus(self.root, self.settings, exclude_files)
            previous = self._previous_manifest()
            update = self._collect_entries(walked, previous, report)

            removed = previous.indexed - update.indexed.keys()
            walked_keys = {str(corpus_file.path) for corpus_file in walked.files + walked.excluded}
            deleted_keys = previous.known - walked_keys
            manifest = _Manifest(frozenset(walked_keys), frozenset(update.indexed))
            self._forget(deleted_keys)
            self._write(update.writes, manifest)
            self._entries = {key: entry for key, entry in self._entries.items() if key not in deleted_keys}

            scan = ScanResult(
                files=update.files,
                skipped=sorted(walked.skipped + update.skipped, key=lambda item: item.path),
                notes=update.notes,
            )
            snapshot, source = self._retriever_for(update.indexed, scan, update.excluded_paths, report)
            self._snapshot = snapshot
            chunk_count = self.chunk_count

        result = RefreshReport(
            added=update.added,
            updated=update.updated,
            removed=len(removed),
            unchanged=update.unchanged,
            chunks=chunk_count,
            files_read=update.read,
            files_chunked=update.chunked,
            retriever=source,
            scan=scan,
        )
        logger.info(
            "Corpus refreshed: %d files (%d added, %d updated, %d removed), %d chunks, retriever %s",
            len(scan.files), result.added, result.updated, result.removed, result.chunks, source,
        )
        return result

    def search(
        self,
        query: str,
        budget_tokens: int,
        count_tokens: Callable[[str], int],
        exclude_paths: Collection[str] = (),
        max_per_file: int = 3,
    ) -> list[Chunk]:
        """Return the chunks most relevant to `query` that fit in `budget_tokens` together.

        Chunks are taken best first, at most `max_per_file` per file. A chunk that does not fit
        is passed over for smaller ones further down. The result is sorted by (path, index),
        not by score, so that the same selection always makes the same prompt prefix. The
        budget covers `count_tokens(chunk.text)` only, so file markers and separators are the
        caller's to account for.
        """
        snapshot = self._snapshot
        retriever = snapshot.retriever
        if retriever is None or budget_tokens <= 0 or not query.strip():
            return []
        tokens = [token for token in tokenize([query])[0] if token in retriever.vocab_dict]
        if not tokens:
            return []

        scores = retriever.get_scores(tokens)
        candidates = np.flatnonzero(scores > 0)
        # A stable sort of ascending document ids breaks score ties by (path, index).
        ranked = candidates[np.argsort(-scores[candidates], kind="stable")]
        excluded = snapshot.excluded_paths | set(exclude_paths)

        selected: list[Chunk] = []
        per_file: Counter[str] = Counter()
        used = 0
        examined = 0
        for document in ranked:
            chunk = snapshot.chunks[int(document)]
            if chunk.path in excluded or per_file[chunk.path] >= max_per_file:
                continue
            examined += 1
            if examined > _MAX_CANDIDATES:
                break
            cost = self._count(snapshot, int(document), count_tokens)
            if used + cost > budget_tokens:
                continue
            selected.append(chunk)
            per_file[chunk.path] += 1
            used += cost
            if used >= budget_tokens:
                break
        return sorted(selected, key=lambda chunk: (chunk.path, chunk.index))

    def _collect_entries(
        self, walked: ScanResult, previous: _Manifest, report: Callable[[str], None]
    ) -> _Update:
        """Gather the entry of every walked file, reading only the ones that changed."""
        update = _Update(previous)
        for corpus_file in walked.files:
            entry, old = self._current_entry(corpus_file, update, report)
            update.record(corpus_file, entry, old)
        for corpus_file in walked.excluded:
            entry = self._known_entry(corpus_file)
            if entry is not None and entry.reason is None:
                update.keep_excluded(corpus_file, entry)
        return update

    def _count(self, snapshot: _Snapshot, document: int, count_tokens: Callable[[str], int]) -> int:
        """Count a chunk's tokens once per snapshot and counting function, because searches repeat."""
        if count_tokens not in snapshot.token_counts and len(snapshot.token_counts) >= _MAX_COUNTERS:
            snapshot.token_counts.clear()
        counts = snapshot.token_counts.setdefault(count_tokens, {})
        cost = counts.get(document)
        if cost is None:
            cost = counts[document] = count_tokens(snapshot.chunks[document].text)
        return cost

    def _current_entry(
        self, corpus_file: CorpusFile, update: _Update, report: Callable[[str], None]
    ) -> tuple[_FileEntry, _FileEntry | None]:
        """Return the file's entry, reading and chunking the file only when needed, and the old one."""
        old = self._known_entry(corpus_file)
        # NOTE: an edit that keeps the size and lands within the file system's mtime
        # granularity goes unseen until the next change. Hashing every file would fix it but
        # slow every warm start, so revisit if tools rewrite notes faster than that.
        if old is not None and old.size == corpus_file.size and old.mtime_ns == corpus_file.mtime_ns:
            return old, old

        if update.read == 0:
            report("Reading changed corpus files")
        update.read += 1
        inspection = inspect_file(corpus_file.path)
        if old is not None and old.sha256 == inspection.sha256 and old.reason == inspection.reason:
            entry = _FileEntry(
                corpus_file.relative_path,
                corpus_file.size,
                corpus_file.mtime_ns,
                old.sha256,
                old.chunks,
                old.tokens,
                old.reason,
                old.note,
            )
        elif inspection.text is None:
            entry = _FileEntry(
                corpus_file.relative_path, corpus_file.size, corpus_file.mtime_ns, inspection.sha256,
                reason=inspection.reason,
            )
        else:
            update.chunked += 1
            chunks = tuple(chunk_text(corpus_file.relative_path, inspection.text))
            tokens = tuple(" ".join(words) for words in tokenize([_document_text(c) for c in chunks]))
            entry = _FileEntry(
                corpus_file.relative_path, corpus_file.size, corpus_file.mtime_ns, inspection.sha256,
                chunks, tokens if chunks else (), None, inspection.note,
            )
        key = str(corpus_file.path)
        self._entries[key] = entry
        update.writes[key] = entry
        return entry, old

    def _known_entry(self, corpus_file: CorpusFile) -> _FileEntry | None:
        """Return the entry from memory or the cache, if it was made for the same relative path."""
        key = str(corpus_file.path)
        entry = self._entries.get(key)
        if entry is None:
            data = self._cache_get(_cache_key("file", key))
            if isinstance(data, dict):
                try:
                    entry = _FileEntry.from_plain(data)
                except _STALE_ENTRY_ERRORS as error:
                    logger.debug("Ignoring a stale corpus entry for %s: %s", key, error)
                    entry = None
            if entry is not None:
                self._entries[key] = entry
        if entry is not None and entry.relative_path != corpus_file.relative_path:
            return None
        return entry

    def _previous_manifest(self) -> _Manifest:
        if self._manifest is None:
            stored = self._cache_get(_cache_key("manifest", str(self.root)))
            if isinstance(stored, dict):
                known = frozenset(stored)
                self._manifest = _Manifest(known, frozenset(key for key in known if stored[key]))
        return self._manifest or _Manifest()

    def _forget(self, removed: Iterable[str]) -> None:
        if self._cache is None:
            return
        try:
            with self._cache.transact():
                for key in removed:
                    self._cache.delete(_cache_key("file", key))
        except _CACHE_ERRORS as error:
            logger.warning("Failed to write the corpus cache: %s", error)

    def _write(self, writes: dict[str, _FileEntry], manifest: _Manifest) -> None:
        self._manifest = manifest
        if self._cache is None:
            return
        try:
            with self._cache.transact():
                for key, entry in writes.items():
                    self._cache.set(_cache_key("file", key), entry.to_plain())
                stored = {key: key in manifest.indexed for key in sorted(manifest.known)}
                self._cache.set(_cache_key("manifest", str(self.root)), stored)
        except _CACHE_ERRORS as error:
            logger.warning("Failed to write the corpus cache: %s", error)

    def _retriever_for(
        self,
        indexed: dict[str, _FileEntry],
        scan: ScanResult,
        excluded_paths: frozenset[str],
        report: Callable[[str], None],
    ) -> tuple[_Snapshot, RetrieverSource]:
        """Return a snapshot with a retriever for `indexed`: the current one, a stored one or a new one."""
        entries = sorted(indexed.values(), key=lambda entry: entry.relative_path)
        fingerprint = _fingerprint(entries)
        chunks = tuple(chunk for entry in entries for chunk in entry.chunks)

        def snapshot(retriever: bm25s.BM25 | None) -> _Snapshot:
            return _Snapshot(fingerprint, chunks, retriever, scan, excluded_paths)

        if self._snapshot.fingerprint == fingerprint and self._snapshot.retriever is not None:
            return snapshot(self._snapshot.retriever), "reused"

        key = _cache_key("retriever", str(self.root))
        stored = self._cache_get(key)
        if isinstance(stored, dict) and stored.get("fingerprint") == fingerprint:
            retriever = stored.get("retriever")
            if isinstance(retriever, bm25s.BM25):
                return snapshot(retriever), "loaded"

        documents = [tokens.split() for entry in entries for tokens in entry.tokens]
        if not any(documents):
            return snapshot(None), "empty"
        report(f"Indexing {len(documents):,} corpus chunks")
        retriever = bm25s.BM25()
        retriever.index(documents, show_progress=False)
        self._cache_set(key, {"fingerprint": fingerprint, "retriever": retriever})
        return snapshot(retriever), "built"

    def _cache_get(self, key: str) -> Any:
        if self._cache is None:
            return None
        try:
            return self._cache.get(key)
        except _CACHE_ERRORS as error:
            logger.warning("Failed to read the corpus cache: %s", error)
        except _STALE_ENTRY_ERRORS as error:
            logger.debug("Ignoring an unreadable corpus cache value for %s: %s", key, error)
        return None

    def _cache_set(self, key: str, value: Any) -> None:
        if self._cache is None:
            return
        try:
            self._cache.set(key, value)
        except _CACHE_ERRORS as error:
            logger.warning("Failed to write the corpus cache: %s", error)


@dataclass(frozen=True)
class _Manifest:
    """The files of one root at the last refresh, by absolute path."""

    known: frozenset[str] = frozenset()
    """Every file with a stored entry, indexed or skipped after reading."""
    indexed: frozenset[str] = frozenset()


class _Update:
    """Counts and entries gathered by one `refresh`."""

    def __init__(self, previous: _Manifest):
        self.previous = previous.indexed
        self.indexed: dict[str, _FileEntry] = {}
        self.writes: dict[str, _FileEntry] = {}
        self.files: list[CorpusFile] = []
        self.skipped: list[Skipped] = []
        self.notes: dict[str, str] = {}
        self.excluded_paths: frozenset[str] = frozenset()
        self.added = self.updated = self.unchanged = 0
        self.read = self.chunked = 0

    def record(self, corpus_file: CorpusFile, entry: _FileEntry, old: _FileEntry | None) -> None:
        if entry.reason is not None:
            self.skipped.append(Skipped(corpus_file.relative_path, entry.reason))
            return
        key = str(corpus_file.path)
        self.indexed[key] = entry
        self.files.append(corpus_file)
        if entry.note:
            self.notes[corpus_file.relative_path] = entry.note
        if key not in self.previous:
            self.added += 1
        elif old is not None and old.sha256 == entry.sha256:
            self.unchanged += 1
        else:
            self.updated += 1

    def keep_excluded(self, corpus_file: CorpusFile, entry: _FileEntry) -> None:
        self.indexed[str(corpus_file.path)] = entry
        self.excluded_paths = self.excluded_paths | {corpus_file.relative_path}


def _cache_key(kind: str, name: str) -> str:
    # String keys are stored as they are; diskcache pickles tuple keys on every lookup.
    return f"{kind}:{INDEX_FORMAT}:{name}"


def _fingerprint(entries: list[_FileEntry]) -> str:
    digest = hashlib.sha256(f"{INDEX_FORMAT} bm25s {bm25s.__version__}\n".encode())
    for entry in entries:
        digest.update(f"{entry.relative_path}\0{entry.sha256}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
