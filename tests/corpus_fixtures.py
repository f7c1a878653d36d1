"""Workspaces for corpus tests: ordinary notes mixed with everything the scanner must leave out.

`make_messy_workspace(root)` returns what a test needs to check the outcome:

- "root": the workspace folder.
- "max_file_bytes": the limit written to `.amplifier.toml` (`corpus.max_file_bytes`).
- "settings": a `CorpusSettings` with that limit.
- "included": relative paths that belong in the corpus, sorted.
- "skipped": relative path to the reason the scanner must give (folders end with "/").
- "secrets": strings that must never appear in any output (listing, prompt, index).
- "excluded_markers": one word from each left-out file that is not a secret, which must
  not appear in a prompt either.
- "words": a distinctive word per included file, for retrieval checks.
- "latin1_path" and "latin1_text": the Latin-1 note and a phrase it must decode to.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from amplifier_ls.settings import CorpusSettings

MAX_FILE_BYTES = 4096

SECRET_ENV_VALUE = "sk-secret-value-123"
# Fake key material: base64 lines of the length real PEM and OpenSSH keys have.
SSH_KEY_LINE = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
PEM_KEY_LINE = "MIIEpAIBAAKCAQEAzq7T3fakefakefakefakeKEYmaterialNotRealAtAllXyZ0123"


def _write(root: Path, relative: str, content: str | bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")


def make_messy_workspace(root: Path) -> dict[str, Any]:
    """Create a workspace under `root` (usually pytest's tmp_path) and describe it."""
    root.mkdir(parents=True, exist_ok=True)
    included = {
        "notes/sourdough.md": (
            "# Sourdough notes\n\nMy sourdough starter needs feeding twice a day.\n\n"
            "## Baking\n\nBake the loaf at 240 degrees with steam for the first twenty minutes.\n"
        ),
        "notes/docker-deploys.md": (
            "# Deploying with Docker\n\nI deploy the blog as a Docker container behind Caddy.\n"
        ),
        "journal.txt": "Monday: pruned the quince tree.\n\nTuesday: planted garlic along the fence.\n",
    }
    for relative, content in included.items():
        _write(root, relative, content)

    latin1_path = "notes/cafe.md"
    _write(root, latin1_path, "# Café\n\nUn café déjà bu, près du marché.\n".encode("latin-1"))

    skipped: dict[str, str] = {}
    _write(root, ".env", f"API_KEY={SECRET_ENV_VALUE}\n")
    skipped[".env"] = "secret file (.env)"

    ssh_key = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + f"{SSH_KEY_LINE}\n" * 3 + "-----END OPENSSH PRIVATE KEY-----\n"
    _write(root, "id_rsa", ssh_key)
    skipped["id_rsa"] = "secret file (id_rsa)"

    pem_key = "-----BEGIN RSA PRIVATE KEY-----\n" + f"{PEM_KEY_LINE}\n" * 3 + "-----END RSA PRIVATE KEY-----\n"
    _write(root, "notes/key.md", pem_key)
    skipped["notes/key.md"] = "contains a private key"

    _write(root, "image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    skipped["image.md"] = "binary file"

    _write(root, "big.md", "# Big\n\n" + "OVERSIZEMARKER filler text. " * (MAX_FILE_BYTES // 20))
    skipped["big.md"] = f"larger than corpus.max_file_bytes ({MAX_FILE_BYTES:,} bytes)"

    _write(root, ".git/config", "[core]\n\trepositoryformatversion = 0\n")
    _write(root, ".git/description.md", "GITFOLDERMARKER\n")
    skipped[".git/"] = "version control folder"

    _write(root, "node_modules/pkg/README.md", "# pkg\n\nNODEMODULESMARKER\n")
    skipped["node_modules/"] = "vendor folder (node_modules)"

    _write(root, ".obsidian/workspace.md", "HIDDENFOLDERMARKER\n")
    skipped[".obsidian/"] = "hidden folder"

    _write(root, ".gitignore", "drafts/\n")
    _write(root, "drafts/unpublished.md", "# Draft\n\nDRAFTSMARKER\n")
    skipped["drafts/"] = "ignored by .gitignore"

    _write(root, ".amplifier.toml", f"[corpus]\nmax_file_bytes = {MAX_FILE_BYTES}\n")

    try:
        os.symlink(".", root / "loop", target_is_directory=True)
        os.symlink("missing-target.md", root / "broken.md")
    except (OSError, NotImplementedError):
        pass
    else:
        skipped["loop/"] = "symlink loop"
        skipped["broken.md"] = "broken symlink"

    return {
        "root": root,
        "max_file_bytes": MAX_FILE_BYTES,
        "settings": CorpusSettings(max_file_bytes=MAX_FILE_BYTES),
        "included": sorted([*included, latin1_path]),
        "skipped": skipped,
        "secrets": [SECRET_ENV_VALUE, SSH_KEY_LINE, PEM_KEY_LINE],
        "excluded_markers": [
            "OVERSIZEMARKER",
            "GITFOLDERMARKER",
            "NODEMODULESMARKER",
            "HIDDENFOLDERMARKER",
            "DRAFTSMARKER",
        ],
        "words": {
            "notes/sourdough.md": "sourdough",
            "notes/docker-deploys.md": "docker",
            "journal.txt": "quince",
            latin1_path: "marché",
        },
        "latin1_path": latin1_path,
        "latin1_text": "Un café déjà bu, près du marché.",
    }
