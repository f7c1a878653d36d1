"""Facts about each Claude model that the backend relies on: prefill, request parameters, prices.

Known facts come from a small table keyed by model family and version. What the API teaches
at run time (a model that rejects prefill, a parameter it rejects) is stored in a JSON file
under the cache directory, so that a later process does not repeat the failed request. A
stored fact wins over the table.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

logger = logging.getLogger(__name__)

MEMORY_FILE = "anthropic-models.json"

# Model ids: `claude-sonnet-4-5`, `claude-sonnet-4-5-20250929`, `claude-opus-4-20250514`
# (version 4.0), `claude-sonnet-5`, and the older `claude-3-7-sonnet-20250219`. Proxies and
# cloud platforms add prefixes (`anthropic/`, `anthropic.`), so the pattern is searched for.
# A minor version has one or two digits; a date suffix has eight.
_NEW_STYLE = re.compile(r"claude-([a-z]+)-(\d{1,2})(?:-(\d{1,2}))?(?![\d.])")
_OLD_STYLE = re.compile(r"claude-(\d)(?:-(\d))?-([a-z]+)")


@dataclass(frozen=True)
class ModelVersion:
    family: str
    """opus, sonnet, haiku, fable, mythos, or a family missing from the tables below."""
    major: int
    minor: int

    @property
    def number(self) -> tuple[int, int]:
        return (self.major, self.minor)


def parse_model(model: str) -> ModelVersion | None:
    """Read the family and version from a model id; None when the id has neither."""
    name = model.lower()
    match = _NEW_STYLE.search(name)
    if match:
        return ModelVersion(match.group(1), int(match.group(2)), int(match.group(3) or 0))
    match = _OLD_STYLE.search(name)
    if match:
        return ModelVersion(match.group(3), int(match.group(1)), int(match.group(2) or 0))
    return None


def prefill_known_rejected(model: str) -> bool:
    """Return whether the table lists the model as rejecting an assistant prefill.

    Opus 4.6, Sonnet 4.6 and every model from version 5 on return 400 invalid_request_error
    for a conversation that ends with an assistant turn; Haiku 4.5 and older models accept it.
    """
    version = parse_model(model)
    if version is None:
        return False
    if version.major >= 5:
        return True
    return version.family in ("opus", "sonnet") and version.number >= (4, 6)


def temperature_accepted(model: str) -> bool:
    """Return whether the table expects `model` to accept a non-default temperature.

    From Opus 4.7 and version 5 on, non-default temperature, top_p and top_k return 400.
    Opus 4.1 to the 4.6 models reject temperature and top_p together, so top_p is never sent:
    temperature alone shapes the sampling on every model. An unknown model is sent
    temperature, and a 400 that names it teaches the backend to drop it.
    """
    version = parse_model(model)
    if version is None:
        return True
    return not (version.major >= 5 or (version.family == "opus" and version.number >= (4, 7)))


def thinks_by_default(model: str) -> bool:
    """Return whether `model` thinks unless thinking is disabled (the default from version 5 on).

    Thinking tokens count toward max_tokens, so a short continuation could be spent on
    thinking alone.
    """
    version = parse_model(model)
    return version is not None and version.major >= 5


def rejected_parameters(message: str, sent: set[str]) -> set[str]:
    """Return the parameters, among those sent, that a 400 message names.

    The API names them, as in "`temperature` is deprecated for this model.". The thinking
    settings go by the names "thinking" and "effort".
    """
    return {name for name in sent if re.search(rf"\b{name}\b", message)}


@dataclass(frozen=True)
class Prices:
    """US dollars per million tokens."""

    input: float
    cache_write: float
    """Writing the 5-minute prompt cache: 1.25 times input on every model listed but Haiku 3."""
    cache_read: float
    output: float

    def cost(
        self, input_tokens: int, cache_write_tokens: int, cache_read_tokens: int, output_tokens: int
    ) -> float:
        total = (
            input_tokens * self.input
            + cache_write_tokens * self.cache_write
            + cache_read_tokens * self.cache_read
            + output_tokens * self.output
        )
        return total / 1_000_000


# NOTE: prices as listed on platform.claude.com (the pricing page and each model's overview
# page), read on 2026-12-04. Revisit when Anthropic changes prices or releases a model:
# an id missing here gets no cost estimate. Release notes of third-party tools report that
# Sonnet 5.5 cache reads dropped to $0.10 on 2026-10-07, while its overview page still
# lists $0.20; the table keeps the official page's figure.
_PRICES: tuple[tuple[str, tuple[int, int], tuple[int, int], Prices], ...] = (
    # family, first version, last version, prices
    ("fable", (5, 1), (5, 9), Prices(10.0, 12.5, 0.25, 50.0)),
    ("fable", (5, 0), (5, 0), Prices(10.0, 12.5, 1.0, 50.0)),
    ("mythos", (5, 1), (5, 9), Prices(10.0, 12.5, 0.25, 50.0)),
    ("mythos", (5, 0), (5, 0), Prices(10.0, 12.5, 1.0, 50.0)),
    ("opus", (5, 5), (5, 9), Prices(4.0, 5.0, 0.20, 20.0)),
    ("opus", (4, 5), (5, 4), Prices(5.0, 6.25, 0.50, 25.0)),
    ("opus", (3, 0), (4, 4), Prices(15.0, 18.75, 1.50, 75.0)),
    ("sonnet", (5, 0), (5, 9), Prices(2.0, 2.5, 0.20, 10.0)),
    ("sonnet", (3, 5), (4, 9), Prices(3.0, 3.75, 0.30, 15.0)),
    ("haiku", (5, 5), (5, 9), Prices(0.10, 0.125, 0.01, 0.50)),
    ("haiku", (4, 5), (4, 9), Prices(1.0, 1.25, 0.10, 5.0)),
    ("haiku", (3, 5), (3, 9), Prices(0.80, 1.0, 0.08, 4.0)),
    ("haiku", (3, 0), (3, 4), Prices(0.25, 0.30, 0.03, 1.25)),
)


def prices_for(model: str) -> Prices | None:
    """Return the per-token prices of `model`, or None when the table does not list it.

    NOTE: Haiku 5.5 costs five times more for prompts over 100,000 tokens. The table has
    the lower band only, which covers prompts built with the default budgets.
    """
    version = parse_model(model)
    if version is None:
        return None
    for family, first, last, prices in _PRICES:
        if version.family == family and first <= version.number <= last:
            return prices
    return None


class ModelMemory:
    """Facts learned from the API per model id, kept in a JSON file when a directory is given.

    File layout: {"models": {"claude-opus-4-6": {"prefill": false,
    "rejected_parameters": ["temperature"]}}}. Writes merge with what another process may
    have stored meanwhile, then replace the file atomically.
    """

    def __init__(self, directory: Path | None):
        self.path = directory / MEMORY_FILE if directory is not None else None
        self._models: dict[str, dict[str, Any]] = self._read()

    def prefill_rejected(self, model: str) -> bool:
        return self._models.get(model, {}).get("prefill") is False

    def rejected_parameters(self, model: str) -> set[str]:
        return set(self._models.get(model, {}).get("rejected_parameters", ()))

    def remember_prefill_rejected(self, model: str) -> None:
        self._update(model, lambda entry: entry.__setitem__("prefill", False))

    def remember_rejected_parameters(self, model: str, parameters: set[str]) -> None:
        def add(entry: dict[str, Any]) -> None:
            entry["rejected_parameters"] = sorted(set(entry.get("rejected_parameters", ())) | parameters)

        self._update(model, add)

    def _update(self, model: str, change: Callable[[dict[str, Any]], None]) -> None:
        models = self._read()
        for name, entry in self._models.items():
            stored = models.setdefault(name, {})
            if entry.get("prefill") is False:
                stored["prefill"] = False
            parameters = set(stored.get("rejected_parameters", ())) | set(
                entry.get("rejected_parameters", ())
            )
            if parameters:
                stored["rejected_parameters"] = sorted(parameters)
        change(models.setdefault(model, {}))
        self._models = models
        self._write()

    def _read(self) -> dict[str, dict[str, Any]]:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            models = data["models"]
            if not isinstance(models, dict):
                raise TypeError("models is not an object")
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("Ignoring unreadable model facts in %s: %s", self.path, error)
            return {}
        return {str(name): dict(entry) for name, entry in models.items() if isinstance(entry, dict)}

    def _write(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".anthropic-models-", dir=self.path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as output:
                json.dump({"models": self._models}, output, indent=2, sort_keys=True)
            os.replace(temporary, self.path)
        except OSError as error:
            logger.warning("Could not store model facts in %s: %s", self.path, error)
