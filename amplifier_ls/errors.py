"""Errors that reach a person: each carries one sentence naming what failed and what fixes it."""

from __future__ import annotations


class AmplifierError(Exception):
    """A failure the user can act on; the command line prints it as one line and exits non-zero."""


class SettingsError(AmplifierError):
    """One or more settings have invalid values.

    `problems` maps each dotted key (for example `decoding.temperature`) to what was expected.
    """

    def __init__(self, problems: dict[str, str], source: str = "settings"):
        self.problems = dict(problems)
        self.source = source
        details = "; ".join(f"{key}: {expected}" for key, expected in self.problems.items())
        super().__init__(f"Invalid {source}: {details}")


class DocumentError(AmplifierError):
    """The document or position given cannot be used (missing file, cursor out of range)."""


class BackendError(AmplifierError):
    """A backend failed to produce a prediction.

    `retryable` marks whether the same request may succeed later (rate limits, overload).
    """

    def __init__(self, message: str, *, retryable: bool = False):
        self.retryable = retryable
        super().__init__(message)


class BackendUnavailable(BackendError):
    """The backend cannot be reached or set up: missing key, unreachable server, missing model file."""


class PromptTooLarge(BackendError):
    """The backend rejected the prompt as longer than the model's context window."""
