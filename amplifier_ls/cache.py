"""Finished generations on disk, keyed by everything that determines them.

The key covers the backend's identity (backend, model and its settings), the sampling
settings, the stop sequences, the token limit, the number of samples and the prompt text.
Only complete generations are stored: the pipeline writes after every sample has finished,
so a cancelled, failed or partial generation never reaches the cache. Raw text is stored,
before post-processing, because post-processing depends on the text after the cursor, which
is not part of the prompt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import diskcache

from .backends.base import GenerationRequest

logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "amplifier-ls"


def request_key(identity: dict[str, Any], request: GenerationRequest, samples: int) -> str:
    material = {
        "identity": identity,
        "sampling": asdict(request.sampling),
        "max_tokens": request.max_tokens,
        "stop": list(request.stop),
        "samples": samples,
        "prompt": request.prompt.text,
    }
    encoded = json.dumps(material, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return "prediction:" + hashlib.sha256(encoded).hexdigest()


class PredictionCache:
    def __init__(self, directory: Path | None, size_limit_mb: int = 512):
        self._cache = (
            diskcache.Cache(str(directory / "predictions"), size_limit=size_limit_mb * 1024 * 1024)
            if directory
            else None
        )

    def get(self, key: str) -> list[str] | None:
        if self._cache is None:
            return None
        value = self._cache.get(key)
        return list(value) if isinstance(value, list) else None

    def set(self, key: str, texts: list[str]) -> None:
        if self._cache is not None:
            self._cache.set(key, list(texts))

    def clear(self) -> None:
        if self._cache is not None:
            self._cache.clear()

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
