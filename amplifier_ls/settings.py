"""One typed settings tree, with defaults and a description per field.

Values come from, lowest precedence first: the defaults below, `.amplifier.toml` at the
workspace root, then the caller's overrides (command-line flags, or the editor's
initialization options and configuration). Every layer is validated the same way, and an
invalid value is reported with its dotted key and what was expected.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import SettingsError

SETTINGS_FILE = ".amplifier.toml"

Horizon = Literal["sentence", "paragraph", "section", "draft"]
BackendName = Literal["local", "openai", "anthropic"]


def _describe(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING):
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"description": text})
    return field(default=default, metadata={"description": text})


@dataclass
class LocalSettings:
    model_path: str = _describe(
        "Path to a GGUF model file. Empty: the bundled Gemma 3 270M base model.", ""
    )
    n_ctx: int = _describe("Context window of the local model, in tokens.", 4096)
    n_threads: int = _describe("CPU threads for generation. 0: one per core.", 0)
    persist_prefix_state: bool = _describe(
        "Save the model state after the corpus prefix to the cache directory, so that a new "
        "process skips evaluating an unchanged prefix.",
        True,
    )


@dataclass
class OpenAISettings:
    base_url: str = _describe(
        "Base URL of an OpenAI-compatible server, up to and including /v1 "
        "(vLLM, llama.cpp server, Ollama).",
        "http://127.0.0.1:8000/v1",
    )
    api_key_env: str = _describe(
        "Name of the environment variable that holds the API key; the key itself never "
        "goes in a settings file. Empty, or the variable unset: no Authorization header. "
        "Empty by default so that a key meant for one service is never sent to another URL.",
        "",
    )
    context_window: int = _describe("Context window of the served model, in tokens.", 8192)
    timeout: float = _describe("Seconds to wait for the server to connect or send data.", 60.0)
    max_retries: int = _describe(
        "Retries after HTTP 429 or 503 before giving up (Retry-After is honoured).", 2
    )


@dataclass
class AnthropicSettings:
    base_url: str = _describe(
        "Base URL of the Messages API. Empty: ANTHROPIC_BASE_URL, else the official endpoint.", ""
    )
    api_key_env: str = _describe(
        "Name of the environment variable that holds the API key.", "ANTHROPIC_API_KEY"
    )
    framing: Literal["auto", "prefill", "no-prefill"] = _describe(
        "How the document is framed. prefill: the draft is the assistant turn and the model "
        "continues it. no-prefill: a user turn asks for the continuation only. auto: prefill "
        "where the model accepts it, remembered per model.",
        "auto",
    )
    max_concurrency: int = _describe("Parallel requests when several candidates are asked for.", 3)
    max_retries: int = _describe("Retries after 429, 529 or an overloaded stream.", 2)
    timeout: float = _describe("Seconds to wait for a response before giving up.", 120.0)


@dataclass
class DecodingSettings:
    temperature: float = _describe("Sampling temperature; 0 picks the most likely token.", 0.7)
    top_p: float = _describe("Nucleus sampling: keep the smallest token set with this mass.", 0.9)
    min_p: float = _describe(
        "Drop tokens less likely than this fraction of the most likely one (local, openai).", 0.05
    )
    repeat_penalty: float = _describe(
        "Penalty for tokens seen in the last repeat_last_n tokens (local, openai); "
        "1.0 turns it off.",
        1.15,
    )
    repeat_last_n: int = _describe("Window for repeat_penalty, in tokens.", 128)
    max_tokens: int = _describe(
        "Maximum tokens generated for one prediction before the horizon is applied.", 200
    )
    seed: int = _describe("Sampling seed; -1 draws a new one for every request.", -1)


@dataclass
class PredictionSettings:
    horizon: Horizon = _describe(
        "Where a prediction stops. sentence: end of the sentence. paragraph: end of the "
        "paragraph. section: before the next heading of the same or a higher level. "
        "draft: the whole text an outline stands for.",
        "paragraph",
    )
    samples: int = _describe("Number of candidate predictions to produce.", 1)


@dataclass
class CorpusSettings:
    paths: list[str] = _describe(
        "Files, folders or glob patterns with the author's past writing, relative to the "
        "workspace root. Empty: Markdown and text files under the workspace.",
        factory=list,
    )
    exclude: list[str] = _describe(
        "Glob patterns (gitignore syntax) of files to leave out of the corpus.", factory=list
    )
    extensions: list[str] = _describe(
        "File extensions read when a folder or a glob is given.",
        factory=lambda: [".md", ".markdown", ".mdx", ".txt", ".rst", ".org", ".adoc", ".tex"],
    )
    max_file_bytes: int = _describe("Files larger than this, in bytes, are skipped.", 1_000_000)
    budget_tokens: int = _describe(
        "Tokens of the prompt given to excerpts of the author's past writing.", 1200
    )
    enabled: bool = _describe("Use the corpus at all. Off: the prompt holds only the document.", True)


@dataclass
class PromptSettings:
    document_budget_tokens: int = _describe(
        "Tokens of the prompt given to the current document before the cursor.", 1200
    )
    after_cursor_chars: int = _describe(
        "Characters after the cursor used to avoid repeating what already follows.", 400
    )


@dataclass
class CacheSettings:
    enabled: bool = _describe("Cache finished predictions and the corpus index on disk.", True)
    dir: str = _describe(
        "Cache directory. Empty: $XDG_CACHE_HOME/amplifier-ls (~/.cache/amplifier-ls).", ""
    )
    size_limit_mb: int = _describe("Size limit of the prediction cache, in MiB.", 512)


@dataclass
class ServerSettings:
    inline_horizon: Literal["sentence", "paragraph"] = _describe(
        "How far an automatic inline completion reaches.", "sentence"
    )
    inline_candidates: int = _describe(
        "Candidates produced when the user asks for inline completions explicitly.", 3
    )
    debounce_ms: int = _describe(
        "Milliseconds to wait after a keystroke before an automatic completion starts.", 250
    )
    on_save: Literal["off", "next-section", "outline"] = _describe(
        "What is predicted in the background when a document is saved. off: nothing. "
        "next-section: the next section. outline: only the draft of an unexpanded outline.",
        "next-section",
    )


@dataclass
class Settings:
    backend: BackendName = _describe(
        "Which backend predicts. local: the embedded model, offline. openai: an "
        "OpenAI-compatible completions server. anthropic: Claude through the Messages API.",
        "local",
    )
    model: str = _describe(
        "Model name passed to the backend. Empty: the backend's default "
        "(local: the bundled model; openai: the server's first model; anthropic: claude-haiku-4-5).",
        "",
    )
    local: LocalSettings = field(default_factory=LocalSettings)
    openai: OpenAISettings = field(default_factory=OpenAISettings)
    anthropic: AnthropicSettings = field(default_factory=AnthropicSettings)
    decoding: DecodingSettings = field(default_factory=DecodingSettings)
    prediction: PredictionSettings = field(default_factory=PredictionSettings)
    corpus: CorpusSettings = field(default_factory=CorpusSettings)
    prompt: PromptSettings = field(default_factory=PromptSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    server: ServerSettings = field(default_factory=ServerSettings)


def describe_type(annotation: Any) -> str:
    """Describe an annotation as a person reads it: `one of "a", "b"`, `an integer`."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f'"{value}"' for value in typing.get_args(annotation))
    if origin is list:
        return "a list of strings"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        annotation, str(annotation)
    )


def _coerce(annotation: Any, value: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return value in typing.get_args(annotation), value
    if origin is list:
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        return ok, list(value) if ok else value
    if annotation is bool:
        return isinstance(value, bool), value
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if annotation is str:
        return isinstance(value, str), value
    return False, value


RANGES: dict[str, tuple[float, float]] = {
    # Inclusive bounds of numeric settings, by dotted key; editors mirror them in their schemas.
    "local.n_ctx": (256, 1_048_576),
    "local.n_threads": (0, 1024),
    "openai.timeout": (0.1, 3600),
    "openai.context_window": (256, 1_048_576),
    "openai.max_retries": (0, 10),
    "anthropic.max_concurrency": (1, 16),
    "anthropic.max_retries": (0, 10),
    "anthropic.timeout": (0.1, 3600),
    "decoding.temperature": (0.0, 2.0),
    "decoding.top_p": (0.0, 1.0),
    "decoding.min_p": (0.0, 1.0),
    "decoding.repeat_penalty": (1.0, 2.0),
    "decoding.repeat_last_n": (0, 4096),
    "decoding.max_tokens": (1, 8192),
    "prediction.samples": (1, 16),
    "corpus.max_file_bytes": (1, 1 << 31),
    "corpus.budget_tokens": (0, 1_000_000),
    "prompt.document_budget_tokens": (16, 1_000_000),
    "prompt.after_cursor_chars": (0, 100_000),
    "cache.size_limit_mb": (1, 1 << 20),
    "server.inline_candidates": (1, 10),
    "server.debounce_ms": (0, 10_000),
}


def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=False)


def _apply(target: Any, values: dict[str, Any], prefix: str, problems: dict[str, str]) -> None:
    hints = _type_hints(type(target))
    known = {f.name: f for f in dataclasses.fields(target)}
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        dotted = f"{prefix}{key}"
        if key not in known:
            problems[f"{prefix}{raw_key}"] = "unknown setting"
            continue
        annotation = hints[key]
        if dataclasses.is_dataclass(annotation):
            if not isinstance(value, dict):
                problems[dotted] = "a table of settings"
                continue
            _apply(getattr(target, key), value, dotted + ".", problems)
            continue
        ok, coerced = _coerce(annotation, value)
        if ok and dotted in RANGES:
            low, high = RANGES[dotted]
            ok = low <= coerced <= high
            if not ok:
                bounds = (f"{low:,.0f}", f"{high:,.0f}") if annotation is int else (f"{low:g}", f"{high:g}")
                problems[dotted] = f"{describe_type(annotation)} from {bounds[0]} to {bounds[1]}, got {value!r}"
                continue
        if not ok:
            problems[dotted] = f"{describe_type(annotation)}, got {value!r}"
            continue
        setattr(target, key, coerced)


def _unflatten(values: dict[str, Any]) -> dict[str, Any]:
    """Turn {"decoding.temperature": 0.2} into {"decoding": {"temperature": 0.2}}."""
    tree: dict[str, Any] = {}
    for key, value in values.items():
        parts = key.split(".")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def merge(settings: Settings, values: dict[str, Any], source: str = "settings") -> Settings:
    """Return a copy of `settings` with `values` applied, or raise SettingsError naming every bad key.

    Keys may be nested tables or dotted names; hyphens and underscores are interchangeable.
    """
    updated = copy_settings(settings)
    problems: dict[str, str] = {}
    _apply(updated, _unflatten(values), "", problems)
    if problems:
        raise SettingsError(problems, source)
    return updated


def merge_lenient(settings: Settings, values: dict[str, Any], source: str) -> tuple[Settings, SettingsError | None]:
    """Apply the valid values and keep the current ones for invalid keys; return the error too."""
    updated = copy_settings(settings)
    problems: dict[str, str] = {}
    _apply(updated, _unflatten(values), "", problems)
    return updated, (SettingsError(problems, source) if problems else None)


def copy_settings(settings: Settings) -> Settings:
    return _from_plain(Settings, dataclasses.asdict(settings))


def _from_plain(cls: type, data: dict[str, Any]) -> Any:
    hints = _type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        annotation = hints[f.name]
        value = data[f.name]
        kwargs[f.name] = _from_plain(annotation, value) if dataclasses.is_dataclass(annotation) else (
            list(value) if isinstance(value, list) else value
        )
    return cls(**kwargs)


def load_file(path: Path) -> dict[str, Any]:
    """Read a settings file; a syntax error becomes a SettingsError naming the file and line."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError({"(file)": f"valid TOML ({error})"}, str(path)) from error
    except OSError as error:
        raise SettingsError({"(file)": f"a readable file ({error.strerror})"}, str(path)) from error


def load(workspace: Path | None, overrides: dict[str, Any] | None = None) -> Settings:
    """Build the settings for a workspace: defaults, then `.amplifier.toml`, then `overrides`."""
    settings = Settings()
    if workspace is not None:
        settings_file = workspace / SETTINGS_FILE
        if settings_file.is_file():
            settings = merge(settings, load_file(settings_file), str(settings_file))
    if overrides:
        settings = merge(settings, overrides, "command-line options")
    return settings


def iter_fields(cls: type = Settings, prefix: str = "") -> typing.Iterator[tuple[str, Any, Any, str]]:
    """Yield (dotted key, annotation, default, description) for every leaf setting."""
    hints = _type_hints(cls)
    defaults = cls()
    for f in dataclasses.fields(cls):
        annotation = hints[f.name]
        if dataclasses.is_dataclass(annotation):
            yield from iter_fields(annotation, f"{prefix}{f.name}.")
            continue
        yield f"{prefix}{f.name}", annotation, getattr(defaults, f.name), f.metadata.get("description", "")


def as_dict(settings: Settings) -> dict[str, Any]:
    return dataclasses.asdict(settings)

