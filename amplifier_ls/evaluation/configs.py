"""The configurations an evaluation compares, and the variants each one runs as.

A configuration is a name and settings overrides applied on top of the workspace settings
(and the command line's own `-c` options). It is given either on the command line,

    --compare "cold:decoding.temperature=0.2,decoding.top_p=0.5"

with values read as TOML values (`0.2`, `true`, `"text"`, `["a", "b"]`), or in a TOML file
with one table per configuration under `configs`:

    [configs.cold]
    decoding.temperature = 0.2

    [configs.small-archive]
    corpus.budget_tokens = 400

The workspace settings run as the configuration named "base". Each configuration that uses
the corpus also runs without it (its "no corpus" ablation: the same backend, model and
decoding with `use_corpus=False`), and the real continuation itself runs as "author", the
reference every score is read against.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import AmplifierError
from ..settings import Settings, load_file, merge

BASE = "base"
AUTHOR = "author"
NO_CORPUS_SUFFIX = " (no corpus)"

Ablation = Literal["each", "base", "none"]

_NAME = re.compile(r"^[A-Za-z0-9][\w.+-]*$")
_NEXT_ASSIGNMENT = re.compile(r",\s*(?=[A-Za-z_][\w.-]*\s*=)")


class ConfigurationError(AmplifierError):
    """A configuration given to `eval` is malformed."""


@dataclass(frozen=True)
class Configuration:
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """One column of the evaluation: a configuration, with or without the corpus."""

    name: str
    configuration: str
    use_corpus: bool
    is_author: bool = False


def parse_compare(value: str) -> Configuration:
    """Parse `NAME:KEY=VALUE,KEY=VALUE`; a comma inside a TOML list or string stays in its value."""
    name, separator, assignments = value.partition(":")
    name = name.strip()
    if not separator or not _NAME.match(name):
        raise ConfigurationError(
            f"Invalid --compare {value!r}: expected NAME:KEY=VALUE,KEY=VALUE with a name of letters, "
            "digits, '.', '_', '+' or '-'"
        )
    overrides: dict[str, Any] = {}
    for assignment in _NEXT_ASSIGNMENT.split(assignments.strip()):
        if not assignment.strip():
            continue
        key, equals, raw = assignment.partition("=")
        if not equals or not key.strip():
            raise ConfigurationError(f"Invalid --compare {value!r}: expected KEY=VALUE, got {assignment!r}")
        overrides[key.strip()] = _toml_value(raw.strip())
    return Configuration(name, overrides)


def _toml_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw


def load_configurations(path: Path) -> list[Configuration]:
    """Read the `[configs.NAME]` tables of a TOML file, in file order."""
    data = load_file(path)
    tables = data.get("configs")
    if not isinstance(tables, dict) or not tables:
        raise ConfigurationError(f"{path} has no [configs.NAME] tables; add one table of settings per configuration")
    configurations = []
    for name, overrides in tables.items():
        if not isinstance(overrides, dict) or not _NAME.match(name):
            raise ConfigurationError(f"Invalid configuration {name!r} in {path}: expected a [configs.NAME] table")
        configurations.append(Configuration(name, overrides))
    return configurations


def resolve_settings(base: Settings, configurations: list[Configuration]) -> dict[str, Settings]:
    """Apply each configuration's overrides to the base settings.

    Raises SettingsError for an invalid setting and ConfigurationError for a duplicate name.
    """
    resolved = {BASE: base}
    for configuration in configurations:
        if configuration.name in resolved or configuration.name == AUTHOR:
            raise ConfigurationError(
                f"Configuration name {configuration.name!r} is used twice or reserved; "
                f"names must be unique and differ from {BASE!r} and {AUTHOR!r}"
            )
        resolved[configuration.name] = merge(base, configuration.overrides, f"configuration {configuration.name!r}")
    return resolved


def variants_for(settings: dict[str, Settings], ablation: Ablation) -> list[Variant]:
    """List the variants to run: each configuration, its no-corpus ablation where asked, then the author."""
    variants: list[Variant] = []
    for name, values in settings.items():
        variants.append(Variant(name, name, use_corpus=values.corpus.enabled))
        wants_ablation = ablation == "each" or (ablation == "base" and name == BASE)
        if wants_ablation and values.corpus.enabled:
            variants.append(Variant(name + NO_CORPUS_SUFFIX, name, use_corpus=False))
    variants.append(Variant(AUTHOR, AUTHOR, use_corpus=False, is_author=True))
    return variants
