"""Corpus scanning: which files are selected, which are skipped, and the reason given."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from amplifier_ls.corpus.scan import (
    find_secret,
    inspect_bytes,
    read_text,
    scan_corpus,
    secret_file_reason,
)
from amplifier_ls.settings import CorpusSettings

sys.path.insert(0, str(Path(__file__).parent))
from corpus_fixtures import PEM_KEY_LINE, make_messy_workspace  # noqa: E402


def _write(root: Path, relative: str, content: str | bytes = "# Note\n\nSome text.\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _selected(root: Path, settings: CorpusSettings | None = None, **kwargs) -> list[str]:
    result = scan_corpus(root, settings or CorpusSettings(), **kwargs)
    return [corpus_file.relative_path for corpus_file in result.files]


def _reasons(root: Path, settings: CorpusSettings | None = None) -> dict[str, str]:
    result = scan_corpus(root, settings or CorpusSettings())
    return {item.path: item.reason for item in result.skipped}


@pytest.fixture
def messy(tmp_path: Path) -> dict:
    return make_messy_workspace(tmp_path / "workspace")


def test_messy_selects_notes_only(messy):
    assert _selected(messy["root"], messy["settings"]) == messy["included"]


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        "id_rsa",
        "notes/key.md",
        "image.md",
        "big.md",
        ".git/",
        "node_modules/",
        ".obsidian/",
        "drafts/",
        "loop/",
        "broken.md",
    ],
)
def test_messy_skip_reason(messy, path):
    reasons = _reasons(messy["root"], messy["settings"])
    assert reasons[path] == messy["skipped"][path]


def test_messy_lists_nothing_else(messy):
    assert _reasons(messy["root"], messy["settings"]) == messy["skipped"]


def test_messy_secrets_never_read_as_text(messy):
    result = scan_corpus(messy["root"], messy["settings"])
    texts = [read_text(corpus_file)[0] or "" for corpus_file in result.files]
    for secret in messy["secrets"] + messy["excluded_markers"]:
        assert not any(secret in text for text in texts), secret


def test_latin1_note_decoded(messy):
    text, reason = read_text(messy["root"] / messy["latin1_path"])
    assert reason is None
    assert messy["latin1_text"] in text


def test_latin1_note_marked(messy):
    result = scan_corpus(messy["root"], messy["settings"])
    assert result.notes == {messy["latin1_path"]: "decoded as Windows-1252"}


def test_scan_order_is_sorted(messy):
    result = scan_corpus(messy["root"], messy["settings"])
    paths = [corpus_file.relative_path for corpus_file in result.files]
    skipped = [item.path for item in result.skipped]
    assert paths == sorted(paths)
    assert skipped == sorted(skipped)


def test_nested_symlink_loop_ends(tmp_path):
    _write(tmp_path, "a/b/note.md")
    os.symlink("../..", tmp_path / "a" / "b" / "up", target_is_directory=True)
    os.symlink("self", tmp_path / "self")

    result = scan_corpus(tmp_path, CorpusSettings())

    assert [f.relative_path for f in result.files] == ["a/b/note.md"]
    reasons = {item.path: item.reason for item in result.skipped}
    assert reasons["a/b/up/"] == "symlink loop"
    assert reasons["self"] == "symlink loop"


def test_symlinked_folder_read_once(tmp_path):
    _write(tmp_path, "real/note.md")
    os.symlink("real", tmp_path / "alias", target_is_directory=True)

    result = scan_corpus(tmp_path, CorpusSettings())

    assert [f.relative_path for f in result.files] == ["real/note.md"]
    assert {s.path: s.reason for s in result.skipped} == {"alias/": "same folder as real/ (symlink)"}


def test_symlinked_file_outside_root(tmp_path):
    outside = _write(tmp_path, "elsewhere/shared.md")
    root = tmp_path / "workspace"
    root.mkdir()
    os.symlink(outside, root / "shared.md")

    result = scan_corpus(root, CorpusSettings())

    assert [f.relative_path for f in result.files] == ["shared.md"]
    assert result.files[0].path == root / "shared.md"


def test_hard_link_read_once(tmp_path):
    original = _write(tmp_path, "a.md")
    os.link(original, tmp_path / "b.md")
    reasons = _reasons(tmp_path)
    assert reasons == {"b.md": "same file as a.md"}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (".env", "secret file (.env)"),
        (".env.production", "secret file (.env.*)"),
        ("server.pem", "secret file (*.pem)"),
        ("tls.KEY", "secret file (*.key)"),
        ("cert.p12", "secret file (*.p12)"),
        ("id_ed25519", "secret file (id_ed25519)"),
        (".netrc", "secret file (.netrc)"),
        (".pgpass", "secret file (.pgpass)"),
        ("credentials-prod.json", "secret file (credentials*.json)"),
        (".env.example", None),
        ("id_rsa.pub", None),
        ("key.md", None),
        ("environment.md", None),
        ("credentials.md", None),
    ],
)
def test_secret_file_names(name, reason):
    assert secret_file_reason(name) == reason


def test_secret_listed_without_extension(tmp_path):
    _write(tmp_path, "deploy/.env.local", "TOKEN=abc\n")
    _write(tmp_path, "deploy/readme.md")
    assert _reasons(tmp_path) == {"deploy/.env.local": "secret file (.env.*)"}


def test_npmrc_with_token_listed(tmp_path):
    _write(tmp_path, "a/.npmrc", "//registry.npmjs.org/:_authToken=npm_abcdef\n")
    _write(tmp_path, "b/.npmrc", "save-exact=true\n")
    _write(tmp_path, "b/.pypirc", "[pypi]\nusername = __token__\npassword = pypi-abc\n")
    assert _reasons(tmp_path) == {
        "a/.npmrc": "secret file (.npmrc with a credential)",
        "b/.pypirc": "secret file (.pypirc with a credential)",
    }


def test_private_key_inside_prose():
    text = f"Server setup.\n\n```\n-----BEGIN EC PRIVATE KEY-----\n{PEM_KEY_LINE}\n-----END EC PRIVATE KEY-----\n```\n"
    assert find_secret(text) == "contains a private key"


def test_private_key_header_alone_allowed():
    text = "The file starts with\n\n    -----BEGIN RSA PRIVATE KEY-----\n    ...\n\nand ends with END.\n"
    assert find_secret(text) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("token: ghp_" + "a1B2" * 9, "contains an access token (GitHub token)"),
        ('"SecretAccessKey": "' + "Ab1/" * 10 + '"', "contains an access token (AWS secret access key)"),
        ("key = AIza" + "x" * 35, "contains an access token (Google API key)"),
        ('"AccessKeyId": "AKIAWXFXAIOZBOQM4XUH", "SecretAccessKey": "..."', None),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None),
        ("Use sk-... as the key.", None),
    ],
)
def test_access_tokens(text, reason):
    assert find_secret(text) == reason


@pytest.mark.parametrize(
    ("data", "text", "note"),
    [
        ("\ufeff# Title\r\nBody\r\n".encode("utf-8"), "# Title\nBody\n", None),
        ("# Title\r\nline\rold mac\n".encode("utf-8"), "# Title\nline\nold mac\n", None),
        ("# Tïtle 🎉\n".encode("utf-16"), "# Tïtle 🎉\n", "decoded as UTF-16"),
        ("naïve “quotes”\n".encode("cp1252"), "naïve “quotes”\n", "decoded as Windows-1252"),
        (b"caf\xc3\xa9 \xc3\xa0 la cr\xc3\xa8me \xff\n", "café à la crème \ufffd\n", "decoded as UTF-8 with 1 invalid bytes replaced"),
    ],
    ids=["utf8-bom", "line-endings", "utf16", "cp1252", "stray-byte"],
)
def test_inspect_decodes(data, text, note):
    inspection = inspect_bytes(data)
    assert inspection.reason is None
    assert inspection.text == text
    assert inspection.note == note


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"abc\x00def", "binary file"),
        (bytes([1, 2, 3, 4, 5, 6, 7, 8]) * 20 + b"text", "binary file"),
        (b"\xff\xfe\x00\xd8", "not valid UTF-16 despite its byte order mark"),
        (bytes(range(0x80, 0xA0)) * 8, "not valid UTF-8 and not decodable as text"),
    ],
    ids=["nul", "controls", "bad-utf16", "c1-controls"],
)
def test_inspect_rejects(data, reason):
    inspection = inspect_bytes(data)
    assert inspection.text is None
    assert inspection.reason == reason


def test_inspect_digest_is_of_bytes():
    assert inspect_bytes(b"a\r\n").sha256 != inspect_bytes(b"a\n").sha256


def test_extensions_filter(tmp_path):
    for name in ("a.md", "b.txt", "c.py", "d.MD", "e.rst", "f"):
        _write(tmp_path, name)
    assert _selected(tmp_path) == ["a.md", "b.txt", "d.MD", "e.rst"]


def test_paths_file_folder_glob(tmp_path):
    _write(tmp_path, "posts/2020/a.md")
    _write(tmp_path, "posts/2021/b.md")
    _write(tmp_path, "posts/c.md")
    _write(tmp_path, "posts/image.png", b"\x89PNG\x00")
    _write(tmp_path, "pages/about.html", "<p>About me</p>\n")
    _write(tmp_path, "wiki/topic/x.md")
    _write(tmp_path, "wiki/y.md")
    _write(tmp_path, "other.md")
    settings = CorpusSettings(paths=["posts/**/*.md", "pages/about.html", "wiki/topic"])

    assert _selected(tmp_path, settings) == [
        "pages/about.html",
        "posts/2020/a.md",
        "posts/2021/b.md",
        "posts/c.md",
        "wiki/topic/x.md",
    ]


def test_paths_glob_single_level(tmp_path):
    _write(tmp_path, "posts/a.md")
    _write(tmp_path, "posts/deep/b.md")
    _write(tmp_path, "c.md")
    assert _selected(tmp_path, CorpusSettings(paths=["posts/*.md"])) == ["posts/a.md"]
    assert _selected(tmp_path, CorpusSettings(paths=["*.md"])) == ["c.md"]


def test_paths_absolute_outside_root(tmp_path):
    _write(tmp_path, "blog/post.md")
    root = tmp_path / "workspace"
    _write(root, "draft.md")
    settings = CorpusSettings(paths=[str(tmp_path / "blog"), str(root / "draft.md")])
    assert _selected(root, settings) == ["../blog/post.md", "draft.md"]


def test_paths_absolute_glob(tmp_path):
    _write(tmp_path, "blog/2020/post.md")
    _write(tmp_path, "blog/readme.txt")
    root = tmp_path / "workspace"
    root.mkdir()
    settings = CorpusSettings(paths=[f"{tmp_path}/blog/**/*.md"])
    assert _selected(root, settings) == ["../blog/2020/post.md"]


def test_paths_missing_entry_reported(tmp_path):
    _write(tmp_path, "empty/image.png", b"\x00")
    settings = CorpusSettings(paths=["nowhere", "empty", "*.org"])
    assert _reasons(tmp_path, settings) == {
        "*.org": "matched no files with an extension in corpus.extensions",
        "empty": "matched no files with an extension in corpus.extensions",
        "nowhere": "not found (corpus.paths)",
    }


def test_paths_named_folder_overrides_folder_rules(tmp_path):
    _write(tmp_path, ".notes/a.md")
    _write(tmp_path, ".notes/build/b.md")
    settings = CorpusSettings(paths=[".notes"])
    assert _selected(tmp_path, settings) == [".notes/a.md"]
    assert _reasons(tmp_path, settings) == {".notes/build/": "build output folder (build)"}


def test_settings_exclude(tmp_path):
    _write(tmp_path, "notes/a.md")
    _write(tmp_path, "notes/private/b.md")
    _write(tmp_path, "notes/c.draft.md")
    settings = CorpusSettings(exclude=["private/", "*.draft.md"])
    assert _selected(tmp_path, settings) == ["notes/a.md"]
    assert _reasons(tmp_path, settings) == {
        "notes/c.draft.md": "excluded by corpus.exclude",
        "notes/private/": "excluded by corpus.exclude",
    }


def test_nested_gitignore(tmp_path):
    _write(tmp_path, ".gitignore", "*.log.md\nscratch/\n")
    _write(tmp_path, "a.log.md")
    _write(tmp_path, "blog/.gitignore", "tmp-*.md\n!keep.log.md\n")
    _write(tmp_path, "blog/tmp-1.md")
    _write(tmp_path, "blog/keep.log.md")
    _write(tmp_path, "blog/post.md")
    _write(tmp_path, "blog/scratch/x.md")
    _write(tmp_path, "tmp-2.md")

    assert _selected(tmp_path) == ["blog/keep.log.md", "blog/post.md", "tmp-2.md"]
    assert _reasons(tmp_path) == {
        "a.log.md": "ignored by .gitignore",
        "blog/scratch/": "ignored by .gitignore",
        "blog/tmp-1.md": "ignored by .gitignore",
    }


@pytest.mark.parametrize(
    ("folder", "reason"),
    [
        (".hg", "version control folder"),
        (".svn", "version control folder"),
        ("vendor", "vendor folder (vendor)"),
        (".venv", "virtual environment (.venv)"),
        ("venv", "virtual environment (venv)"),
        ("__pycache__", "cache folder (__pycache__)"),
        (".tox", "cache folder (.tox)"),
        (".cache", "cache folder (.cache)"),
        ("dist", "build output folder (dist)"),
        ("build", "build output folder (build)"),
        ("lib/python3.11/site-packages", "vendor folder (site-packages)"),
    ],
)
def test_folder_rules(tmp_path, folder, reason):
    _write(tmp_path, f"{folder}/README.md")
    assert _reasons(tmp_path) == {f"{folder}/": reason}


def test_virtualenv_detected_by_config(tmp_path):
    _write(tmp_path, "py311/pyvenv.cfg", "home = /usr/bin\n")
    _write(tmp_path, "py311/README.md")
    assert _reasons(tmp_path) == {"py311/": "virtual environment (py311)"}


def test_exclude_files_silent(tmp_path):
    current = _write(tmp_path, "notes/current.md")
    _write(tmp_path, "notes/other.md")
    result = scan_corpus(tmp_path, CorpusSettings(), exclude_files=[current.resolve()])
    assert [f.relative_path for f in result.files] == ["notes/other.md"]
    assert result.skipped == []


def test_exclude_files_through_symlink(tmp_path):
    target = _write(tmp_path, "real/current.md")
    os.symlink(target, tmp_path / "current.md")
    result = scan_corpus(tmp_path, CorpusSettings(), exclude_files=[tmp_path / "current.md"])
    assert result.files == []
    assert result.skipped == []


def test_disabled_corpus_is_empty(messy):
    settings = CorpusSettings(enabled=False)
    result = scan_corpus(messy["root"], settings)
    assert result.files == []
    assert result.skipped == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions that bind")
def test_unreadable_file_and_folder(tmp_path):
    locked = _write(tmp_path, "locked.md")
    locked.chmod(0)
    _write(tmp_path, "closed/a.md").parent.chmod(0)
    try:
        assert _reasons(tmp_path) == {
            "closed/": "unreadable folder (permission denied)",
            "locked.md": "unreadable (permission denied)",
        }
    finally:
        (tmp_path / "closed").chmod(0o755)


def test_paths_overlapping_entries(tmp_path):
    _write(tmp_path, "notes/a.md")
    settings = CorpusSettings(paths=["notes", "notes/**/*.md", "notes/a.md"])
    assert _selected(tmp_path, settings) == ["notes/a.md"]
    assert _reasons(tmp_path, settings) == {}


def test_permission_errors_reported(tmp_path, monkeypatch):
    """Root reads every file, so the permission errors are raised by patched OS calls here."""
    locked = _write(tmp_path, "locked.md")
    closed = _write(tmp_path, "closed/a.md").parent
    real_scandir = os.scandir
    real_read_bytes = Path.read_bytes

    def scandir(path):
        if Path(path) == closed:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def read_bytes(path):
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)

    assert _reasons(tmp_path) == {
        "closed/": "unreadable folder (permission denied)",
        "locked.md": "unreadable (permission denied)",
    }
