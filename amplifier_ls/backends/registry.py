"""Build the backend named in the settings. Each backend is imported only when chosen."""

from __future__ import annotations

from pathlib import Path

from ..errors import SettingsError
from ..settings import Settings
from .base import Backend


def create_backend(settings: Settings, cache_dir: Path | None) -> Backend:
    if settings.backend == "local":
        from .local import LocalBackend

        local = settings.local
        if settings.model and not local.model_path:
            raise SettingsError(
                {"model": "empty for the local backend; set local.model_path to choose a GGUF file"}
            )
        return LocalBackend(local, cache_dir, repeat_last_n=settings.decoding.repeat_last_n)
    if settings.backend == "openai":
        from .openai import OpenAIBackend

        return OpenAIBackend(settings.openai, settings.model, context_window=settings.openai.context_window)
    if settings.backend == "anthropic":
        from .anthropic import AnthropicBackend

        return AnthropicBackend(settings.anthropic, settings.model, cache_dir)
    raise SettingsError({"backend": f'one of "local", "openai", "anthropic", got {settings.backend!r}'})
