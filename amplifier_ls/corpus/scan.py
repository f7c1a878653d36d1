"""Find the files of the author's corpus, and record why each left-out file was left out.

Which files are candidates:

- `corpus.paths` empty: every file under the workspace root whose extension is in
  `corpus.extensions`.
- Otherwise each entry is a file (taken whatever its extension), a folder (read recursively,
  by extension) or a glob relative to the root such as `notes/**/*.md`. A glob is matched
  with gitignore wildcard rules, anchored at the root, and then filtered by extension.
  Entries may be absolute paths.

What is left out, with the reason shown in `amplifier-ls corpus`:

- secret files by name (`.env`, `*.pem`, `id_rsa`, `.netrc`, `credentials*.json`, ...), even
  when their extension would not make them candidates, so the listing shows they were seen;
- files that contain a private key block or a token in a well-known access-key format;
- version control, dependency, virtual environment, cache and build output folders, and
  every other hidden folder (a name starting with ".");
- files and folders matched by `.gitignore` files or by `corpus.exclude` (gitignore syntax);
- binary files, files larger than `corpus.max_file_bytes`, text in no recognised encoding;
- broken symlinks, symlink loops, a second path to a file or folder already scanned, and
  files or folders that cannot be read.

A file or folder named in `corpus.paths` is read even if a folder rule or a `.gitignore`
pattern would leave it out, because the user named it. Secret, size, binary and
`corpus.exclude` checks still apply. `.gitignore` files are read from the folder where a
walk starts downward. A walk follows symlinks to files and folders, and remembers
each folder by (st_dev, st_ino) so that a link back to an ancestor ends the walk there.

A skipped folder is listed once, with a trailing "/", and nothing below it is visited.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec

from ..settings import CorpusSettings
from ..text import normalize_newlines
from .model import Skipped

logger = logging.getLogger(__name__)

_SNIFF_BYTES = 8192
_BINARY_CONTROL_SHARE = 0.10
"""Share of control bytes in the first 8 KiB above which a file without NUL bytes is binary."""
_TEXT_CONTROL_SHARE = 0.01
"""Share of control characters above which a single-byte decoding is rejected as not text."""

_VCS_FOLDERS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", "CVS"})
_FOLDER_KINDS: dict[str, str] = {
    "node_modules": "vendor folder",
    "bower_components": "vendor folder",
    "vendor": "vendor folder",
    "site-packages": "vendor folder",
    ".venv": "virtual environment",
    "venv": "virtual environment",
    "__pycache__": "cache folder",
    ".cache": "cache folder",
    ".tox": "cache folder",
    ".nox": "cache folder",
    ".mypy_cache": "cache folder",
    ".pytest_cache": "cache folder",
    ".ruff_cache": "cache folder",
    "dist": "build output folder",
    "build": "build output folder",
    "_build": "build output folder",
    "_site": "build output folder",
}

_SECRET_NAMES: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.ppk",
    "*.kdbx",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "id_ecdsa_sk",
    "id_ed25519_sk",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".git-credentials",
    ".htpasswd",
    "credentials*.json",
    "client_secret*.json",
    "secrets.json",
    "secrets.toml",
    "secrets.yml",
    "secrets.yaml",
)
_ANY_SECRET_NAME = re.compile("|".join(fnmatch.translate(pattern) for pattern in _SECRET_NAMES))
_SECRET_TEMPLATES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
"""Templates meant to be committed, which contain placeholders rather than secrets."""

_TOKEN_CONFIG_FILES = frozenset({".npmrc", ".pypirc", ".yarnrc.yml"})
_TOKEN_CONFIG_SECRET = re.compile(r"_authToken|_auth\s*=|npmAuthToken|^\s*password\s*[=:]", re.MULTILINE)

_PRIVATE_KEY_START = re.compile(r"\A\s*-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----\s*\n"
    r"(?:[^\n]*\n){0,4}?"
    r"[ \t>]*[A-Za-z0-9+/=]{40,}[ \t]*\n"
)
_PUTTY_KEY = re.compile(r"^PuTTY-User-Key-File-\d+:", re.MULTILINE)

_ACCESS_TOKENS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    # (kind, a lowercase literal that every match contains, pattern). Checking the literal
    # first lets most files skip the regular expressions. An AWS access key id alone is not
    # secret, and notes often show one, so only the secret access key counts.
    (
        "AWS secret access key",
        "access",
        re.compile(
            r"(?i)secret_?access_?key[\"']?\s*[:=]\s*[\"']?(?!\S*EXAMPLE)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
        ),
    ),
    ("GitHub token", "gh", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b")),
    ("Slack token", "xox", re.compile(r"\bxox[abposr]-[0-9]{6,}-[A-Za-z0-9-]{10,}")),
    ("Anthropic API key", "sk-ant-", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{80,}")),
    (
        "OpenAI API key",
        "t3blbkfj",
        re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20}T3BlbkFJ[A-Za-z0-9_-]{20,}"),
    ),
    ("Stripe secret key", "k_live_", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{24,}")),
    ("Google API key", "aiza", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
)
_CONTROL_BYTES = bytes(
    byte for byte in range(256) if (byte < 0x20 and byte not in b"\t\n\r\f\v") or byte == 0x7F
)
_NOT_CONTROL_BYTES = bytes(byte for byte in range(256) if byte not in _CONTROL_BYTES)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class CorpusFile:
    """A file selected for the corpus, with the stat fields that tell whether it changed."""

    path: Path
    """Absolute path, as reached from the root (symlinks not resolved)."""
    relative_path: str
    """Path relative to the workspace root, with forward slashes (`../` for files outside it)."""
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    files: list[CorpusFile] = field(default_factory=list)
    """Selected files, sorted by relative path."""
    skipped: list[Skipped] = field(default_factory=list)
    """Left-out files and folders with the reason, sorted by path."""
    notes: dict[str, str] = field(default_factory=dict)
    """Relative path to the decoding used, for files not in UTF-8."""
    excluded: list[CorpusFile] = field(default_factory=list)
    """Files that would be selected but were passed in `exclude_files`. The listing omits them."""


@dataclass(frozen=True)
class Inspection:
    """The outcome of reading one file: its text, or why it is left out."""

    text: str | None
    """Decoded text with line endings normalised to "\\n", or None when the file is skipped."""
    reason: str | None = None
    """The reason the file is skipped, or None when `text` is set."""
    note: str | None = None
    """The decoding used for text not in UTF-8, for example "decoded as Windows-1252"."""
    sha256: str = ""
    """Hex digest of the bytes on disk, or "" when the file could not be read."""


def scan_corpus(root: Path, settings: CorpusSettings, exclude_files: Iterable[Path] = ()) -> ScanResult:
    """Select the corpus files under `root`, reading each one to leave out binaries and secrets.

    `exclude_files` (the document being edited, held-out documents) are left out without
    being listed as skipped.
    """
    walked = walk_corpus(root, settings, exclude_files)
    result = ScanResult(skipped=list(walked.skipped))
    for corpus_file in walked.files:
        inspection = inspect_file(corpus_file.path)
        if inspection.text is None:
            result.skipped.append(Skipped(corpus_file.relative_path, inspection.reason or "unreadable"))
            continue
        result.files.append(corpus_file)
        if inspection.note:
            result.notes[corpus_file.relative_path] = inspection.note
    result.skipped.sort(key=lambda item: item.path)
    return result


def read_text(file: CorpusFile | Path) -> tuple[str | None, str | None]:
    """Return (text, None) for a readable text file, or (None, the reason it is skipped)."""
    inspection = inspect_file(file.path if isinstance(file, CorpusFile) else file)
    return inspection.text, inspection.reason


def inspect_file(path: Path) -> Inspection:
    """Read a file and decide whether it belongs in the corpus; see `inspect_bytes`."""
    try:
        data = path.read_bytes()
    except PermissionError:
        return Inspection(None, "unreadable (permission denied)")
    except OSError as error:
        return Inspection(None, f"unreadable ({error.strerror or error})")
    return inspect_bytes(data)


def inspect_bytes(data: bytes) -> Inspection:
    """Decode file content as text, or return why it is not corpus text.

    UTF-8 (a BOM is dropped) and UTF-16 or UTF-32 with a BOM are read as such. Other bytes
    are tried as Windows-1252, then Latin-1, and kept only if the result has few control
    characters. Text that contains a private key or an access token is rejected.
    """
    digest = hashlib.sha256(data).hexdigest()
    text, reason, note = _decode(data)
    if text is None:
        return Inspection(None, reason, sha256=digest)

    text = normalize_newlines(text)
    secret = find_secret(text)
    if secret:
        return Inspection(None, secret, sha256=digest)
    return Inspection(text, None, note, digest)


def find_secret(text: str) -> str | None:
    """Return a reason if `text` contains a private key or a token in a known access-key format."""
    if "PRIVATE KEY" in text and (_PRIVATE_KEY_START.match(text) or _PRIVATE_KEY_BLOCK.search(text)):
        return "contains a private key"
    if "PuTTY-User-Key-File-" in text and _PUTTY_KEY.search(text):
        return "contains a private key"
    lowered = text.lower()
    for kind, literal, pattern in _ACCESS_TOKENS:
        if literal in lowered and pattern.search(text):
            return f"contains an access token ({kind})"
    return None


def _decode(data: bytes) -> tuple[str | None, str | None, str | None]:
    """Return (text, skip reason, note) for raw file bytes."""
    for bom, codec, label in (
        (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
        (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
        (b"\xef\xbb\xbf", "utf-8-sig", ""),
        (b"\xff\xfe", "utf-16", "UTF-16"),
        (b"\xfe\xff", "utf-16", "UTF-16"),
    ):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                return None, f"not valid {label or 'UTF-8'} despite its byte order mark", None
            return text, None, f"decoded as {label}" if label else None

    sample = data[:_SNIFF_BYTES]
    if b"\x00" in sample or _control_share(sample) > _BINARY_CONTROL_SHARE:
        return None, "binary file", None

    try:
        return data.decode("utf-8"), None, None
    except UnicodeDecodeError:
        pass

    replaced = data.decode("utf-8", errors="replace")
    invalid = replaced.count("\ufffd")
    valid_non_ascii = sum(1 for character in replaced if ord(character) > 0x7F) - invalid
    if valid_non_ascii >= 2 * invalid:
        # Mostly valid UTF-8 with a few stray bytes: a single-byte decoding would turn every
        # valid multi-byte character into mojibake, which is worse than a few U+FFFD.
        return replaced, None, f"decoded as UTF-8 with {invalid:,} invalid bytes replaced"

    for codec, label in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text, None, f"decoded as {label}"
    return None, "not valid UTF-8 and not decodable as text", None


def _control_share(sample: bytes) -> float:
    if not sample:
        return 0.0
    return len(sample.translate(None, _NOT_CONTROL_BYTES)) / len(sample)


def _looks_like_text(text: str) -> bool:
    if not text:
        return True
    return len(_CONTROL_CHARACTERS.findall(text)) / len(text) <= _TEXT_CONTROL_SHARE


def secret_file_reason(name: str) -> str | None:
    """Return the reason a file name marks a secret (`secret file (.env)`), or None."""
    lowered = name.lower()
    if lowered in _SECRET_TEMPLATES or not _ANY_SECRET_NAME.match(lowered):
        return None
    pattern = next(pattern for pattern in _SECRET_NAMES if fnmatch.fnmatchcase(lowered, pattern))
    return f"secret file ({pattern})"


def folder_reason(path: Path, name: str) -> str | None:
    """Return why a folder found during a walk is left out, or None to walk it."""
    if name in _VCS_FOLDERS:
        return "version control folder"
    kind = _FOLDER_KINDS.get(name)
    if kind:
        return f"{kind} ({name})"
    if (path / "pyvenv.cfg").is_file():
        return f"virtual environment ({name})"
    if name.startswith("."):
        return "hidden folder"
    return None


def walk_corpus(root: Path, settings: CorpusSettings, exclude_files: Iterable[Path] = ()) -> ScanResult:
    """Select the corpus files by name, location and size, without reading their content.

    The index uses this and reads only the files that changed; `scan_corpus` reads them all.
    """
    if not settings.enabled:
        return ScanResult()
    walker = _Walker(root, settings, exclude_files)
    if settings.paths:
        for entry in settings.paths:
            walker.add_entry(entry)
    else:
        walker.start_walk(walker.root, "", walker.has_extension)
    return walker.result()


Selector = Callable[[str], bool]
"""A test of whether the current `corpus.paths` entry selects a file, given its relative path."""


@dataclass(frozen=True)
class _IgnoreLevel:
    prefix: str
    """Relative path of the folder holding the .gitignore, with a trailing "/" ("" for the root)."""
    spec: pathspec.GitIgnoreSpec


class _Walker:
    def __init__(self, root: Path, settings: CorpusSettings, exclude_files: Iterable[Path]):
        self.root = root.absolute()
        self.resolved_root = root.resolve()
        self.settings = settings
        self.extensions = frozenset(extension.lower() for extension in settings.extensions)
        self.exclude_spec = pathspec.GitIgnoreSpec.from_lines(settings.exclude)
        self.excluded_ids: set[tuple[int, int]] = set()
        self.excluded: dict[str, CorpusFile] = {}
        for path in exclude_files:
            try:
                status = os.stat(path)
            except OSError:
                continue
            self.excluded_ids.add((status.st_dev, status.st_ino))

        self.files: dict[str, CorpusFile] = {}
        self.skipped: dict[str, str] = {}
        self.matches = 0
        """Files and folders selected, skipped or excluded so far, counting repeats."""
        self.seen_files: dict[tuple[int, int], str] = {}
        self.seen_folders: dict[tuple[int, int], str] = {}
        self.linked_folders: list[tuple[Any, ...]] = []

    def result(self) -> ScanResult:
        return ScanResult(
            files=[self.files[key] for key in sorted(self.files)],
            skipped=[Skipped(path, self.skipped[path]) for path in sorted(self.skipped)],
            excluded=[self.excluded[key] for key in sorted(self.excluded)],
        )

    def skip(self, path: str, reason: str) -> None:
        self.matches += 1
        self.skipped[path] = reason

    def has_extension(self, relative: str) -> bool:
        return os.path.splitext(relative)[1].lower() in self.extensions

    def relative_to_root(self, path: Path) -> str:
        for base in (self.root, self.resolved_root):
            try:
                relative = path.relative_to(base).as_posix()
            except ValueError:
                continue
            return "" if relative == "." else relative
        return Path(os.path.relpath(path.resolve(), self.resolved_root)).as_posix()

    def add_entry(self, entry: str) -> None:
        """Add the files of one `corpus.paths` entry: a file, a folder or a glob."""
        before = self.matches
        if any(character in entry for character in "*?["):
            self._add_glob(entry)
        else:
            self._add_path(entry)
        if self.matches == before:
            self.skip(entry, "matched no files with an extension in corpus.extensions")

    def _add_path(self, entry: str) -> None:
        path = Path(entry).expanduser()
        if not path.is_absolute():
            path = self.root / path
        path = Path(os.path.normpath(path))
        relative = self.relative_to_root(path)
        label = relative or entry
        try:
            status = os.stat(path)
        except OSError as error:
            self.skip(label, _stat_failure(path, error, "not found (corpus.paths)"))
            return
        if stat.S_ISDIR(status.st_mode):
            self.start_walk(path, relative, self.has_extension)
        elif stat.S_ISREG(status.st_mode):
            self.visit_file(path, relative, status, explicit=True, ignore_levels=())
        else:
            self.skip(label, "not a regular file")

    def _add_glob(self, entry: str) -> None:
        parts = Path(entry.replace(os.sep, "/")).parts
        literal: list[str] = []
        for part in parts:
            if any(character in part for character in "*?["):
                break
            literal.append(part)
        base = Path(*literal) if literal else Path(".")
        if not base.is_absolute():
            base = self.root / base
        base = Path(os.path.normpath(base))
        if not base.is_dir():
            return

        base_relative = self.relative_to_root(base)
        prefix = f"{base_relative}/" if base_relative else ""
        remainder = "/".join(parts[len(literal):])
        spec = pathspec.PathSpec.from_lines("gitignore", ["/" + remainder])

        def selects(relative: str) -> bool:
            if not relative.startswith(prefix) or not self.has_extension(relative):
                return False
            return spec.match_file(relative[len(prefix):])

        self.start_walk(base, base_relative, selects)

    def start_walk(self, folder: Path, relative: str, selects: Selector) -> None:
        """Walk a folder named by the user (the root, or a `corpus.paths` entry)."""
        try:
            status = os.stat(folder)
        except OSError as error:
            self.skip(relative or "./", _stat_failure(folder, error, "folder not found"))
            return
        identity = (status.st_dev, status.st_ino)
        # NOTE: .gitignore files above `folder` are not read, so the root's patterns do not
        # apply inside a folder named in corpus.paths. Revisit if users expect git's rules there.
        # Entries of corpus.paths may overlap; files are deduplicated by path, and folders
        # only within one walk, where reaching a folder twice means a symlink.
        self.seen_folders = {identity: relative}
        self.walk_folder(folder, relative, selects, frozenset({identity}))
        # Folders reached through a symlink come last, so that a folder inside the walk is
        # listed under its own path rather than under a link to it.
        while self.linked_folders:
            self._visit_folder(*self.linked_folders.pop(0))

    def walk_folder(
        self,
        folder: Path,
        relative: str,
        selects: Selector,
        ancestors: frozenset[tuple[int, int]],
        ignore_levels: tuple[_IgnoreLevel, ...] = (),
    ) -> None:
        """Visit the entries of `folder` in name order; `relative` is its path from the root."""
        prefix = f"{relative}/" if relative else ""
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except PermissionError:
            self.skip(prefix or "./", "unreadable folder (permission denied)")
            return
        except OSError as error:
            self.skip(prefix or "./", f"unreadable folder ({error.strerror or error})")
            return

        ignore_levels = ignore_levels + self._read_gitignore(folder, prefix)
        for entry in entries:
            self._visit_entry(entry, prefix + entry.name, selects, ancestors, ignore_levels)

    def _visit_entry(
        self,
        entry: os.DirEntry[str],
        relative: str,
        selects: Selector,
        ancestors: frozenset[tuple[int, int]],
        ignore_levels: tuple[_IgnoreLevel, ...],
    ) -> None:
        path = Path(entry.path)
        try:
            relative.encode("utf-8")
        except UnicodeEncodeError:
            self.skip(relative.encode("utf-8", "replace").decode(), "file name is not valid UTF-8")
            return
        try:
            status = os.stat(path)
        except OSError as error:
            if entry.is_symlink() or selects(relative):
                self.skip(relative, _stat_failure(path, error, "unreadable"))
            return

        if stat.S_ISDIR(status.st_mode) and entry.is_symlink():
            self.linked_folders.append((path, relative, status, selects, ancestors, ignore_levels))
        elif stat.S_ISDIR(status.st_mode):
            self._visit_folder(path, relative, status, selects, ancestors, ignore_levels)
        elif stat.S_ISREG(status.st_mode):
            if selects(relative) or secret_file_reason(entry.name) or _token_config_reason(path):
                self.visit_file(path, relative, status, explicit=False, ignore_levels=ignore_levels)
        elif selects(relative):
            self.skip(relative, "not a regular file")

    def _visit_folder(
        self,
        path: Path,
        relative: str,
        status: os.stat_result,
        selects: Selector,
        ancestors: frozenset[tuple[int, int]],
        ignore_levels: tuple[_IgnoreLevel, ...],
    ) -> None:
        label = relative + "/"
        reason = folder_reason(path, path.name)
        if reason is None and _ignored(ignore_levels, label):
            reason = "ignored by .gitignore"
        if reason is None and self.exclude_spec.match_file(label):
            reason = "excluded by corpus.exclude"
        identity = (status.st_dev, status.st_ino)
        if reason is None and identity in ancestors:
            reason = "symlink loop"
        if reason is None and identity in self.seen_folders:
            reason = f"same folder as {self.seen_folders[identity] or '.'}/ (symlink)"
        if reason is not None:
            self.skip(label, reason)
            return
        self.seen_folders[identity] = relative
        self.walk_folder(path, relative, selects, ancestors | {identity}, ignore_levels)

    def visit_file(
        self,
        path: Path,
        relative: str,
        status: os.stat_result,
        explicit: bool,
        ignore_levels: tuple[_IgnoreLevel, ...],
    ) -> None:
        """Select a regular file, or record why it is left out."""
        identity = (status.st_dev, status.st_ino)
        self.matches += 1
        if relative in self.files or relative in self.excluded:
            return
        reason = self._file_reason(path, relative, status, explicit, ignore_levels)
        if identity in self.excluded_ids:
            if reason is None:
                self.excluded[relative] = CorpusFile(path, relative, status.st_size, status.st_mtime_ns)
            return
        if reason is None and identity in self.seen_files:
            reason = f"same file as {self.seen_files[identity]}"
        if reason is not None:
            self.skip(relative, reason)
            return
        self.seen_files[identity] = relative
        self.files[relative] = CorpusFile(path, relative, status.st_size, status.st_mtime_ns)

    def _file_reason(
        self,
        path: Path,
        relative: str,
        status: os.stat_result,
        explicit: bool,
        ignore_levels: tuple[_IgnoreLevel, ...],
    ) -> str | None:
        secret = secret_file_reason(path.name) or _token_config_reason(path)
        if secret:
            return secret
        if not explicit and _ignored(ignore_levels, relative):
            return "ignored by .gitignore"
        if self.exclude_spec.match_file(relative):
            return "excluded by corpus.exclude"
        if status.st_size > self.settings.max_file_bytes:
            return f"larger than corpus.max_file_bytes ({self.settings.max_file_bytes:,} bytes)"
        return None

    def _read_gitignore(self, folder: Path, prefix: str) -> tuple[_IgnoreLevel, ...]:
        gitignore = folder / ".gitignore"
        try:
            lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return ()
        except OSError as error:
            logger.warning(
                "Failed to read %s (%s), so its patterns are not applied", gitignore, error.strerror or error
            )
            return ()
        return (_IgnoreLevel(prefix, pathspec.GitIgnoreSpec.from_lines(lines)),)


def _ignored(levels: tuple[_IgnoreLevel, ...], relative: str) -> bool:
    """Return whether .gitignore files ignore `relative` (a trailing "/" marks a folder).

    As in git, a pattern in a deeper .gitignore overrides the ones above it.
    """
    for level in reversed(levels):
        if not relative.startswith(level.prefix):
            continue
        outcome = level.spec.check_file(relative[len(level.prefix):]).include
        if outcome is not None:
            return outcome
    return False


def _token_config_reason(path: Path) -> str | None:
    """Return a reason if a package-manager config file (`.npmrc`, `.pypirc`) contains a credential."""
    if path.name not in _TOKEN_CONFIG_FILES:
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"secret file ({path.name}, unreadable)"
    if _TOKEN_CONFIG_SECRET.search(text):
        return f"secret file ({path.name} with a credential)"
    return None


def _stat_failure(path: Path, error: OSError, fallback: str) -> str:
    if error.errno == errno.ELOOP:
        return "symlink loop"
    if path.is_symlink() and isinstance(error, FileNotFoundError):
        return "broken symlink"
    if isinstance(error, PermissionError):
        return "unreadable (permission denied)"
    if isinstance(error, FileNotFoundError):
        return fallback
    return f"unreadable ({error.strerror or error})"
