"""The author's past writing: scanning with skip reasons, chunking, and the BM25 index.

The public names below are imported on first use (PEP 562). Importing `bm25s` and `numpy`
took about 0.4 s on a 2-core AMD EPYC, and `prompt.py` imports `corpus.model` on every start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .model import Chunk, Skipped

if TYPE_CHECKING:
    from .chunk import chunk_text
    from .index import CorpusIndex, RefreshReport
    from .scan import CorpusFile, Inspection, ScanResult, inspect_file, read_text, scan_corpus, walk_corpus

_MODULE_BY_NAME = {
    "chunk_text": "chunk",
    "CorpusIndex": "index",
    "RefreshReport": "index",
    "CorpusFile": "scan",
    "Inspection": "scan",
    "ScanResult": "scan",
    "inspect_file": "scan",
    "read_text": "scan",
    "scan_corpus": "scan",
    "walk_corpus": "scan",
}

__all__ = ["Chunk", "Skipped", *_MODULE_BY_NAME]


def __getattr__(name: str) -> Any:
    module = _MODULE_BY_NAME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
