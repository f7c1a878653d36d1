"""Settings for the server, from four layers.

Lowest precedence first: the defaults, `.amplifier.toml` at the workspace root, the
client's `initializationOptions`, and the `amplifier` section of the client's configuration.
The client configuration is pulled with `workspace/configuration` when the client supports
it, and otherwise read from the `workspace/didChangeConfiguration` notification as
`{"settings": {"amplifier": {...}}}`.

An invalid value leaves that key at its value from the layers below and produces one
`window/showMessage` listing every invalid key of every layer. A change outside the
`server` table rebuilds the Predictor, because the backend, the corpus index and the cache
are built from those settings.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import to_fs_path

from ..errors import SettingsError
from ..settings import SETTINGS_FILE, Settings, as_dict, load_file, merge_lenient

if TYPE_CHECKING:
    from .server import AmplifierServer

logger = logging.getLogger(__name__)

SECTION = "amplifier"

INITIALIZATION_OPTIONS = "initializationOptions"
CLIENT_CONFIGURATION = f"client configuration (section {SECTION!r})"

CONFIGURATION_TIMEOUT_S = 5.0
"""Seconds to wait for the client's response to `workspace/configuration`."""


@dataclass
class SettingsLayers:
    """The values of each layer above the defaults, as plain trees."""

    file: dict[str, Any] = field(default_factory=dict)
    file_error: SettingsError | None = None
    initialization_options: Any = None
    client: Any = None


def resolve(layers: SettingsLayers, file_source: str) -> tuple[Settings, list[SettingsError]]:
    """Merge the layers over the defaults; return the settings and one error per invalid layer."""
    settings = Settings()
    errors: list[SettingsError] = [layers.file_error] if layers.file_error else []
    for source, values in (
        (file_source, layers.file),
        (INITIALIZATION_OPTIONS, layers.initialization_options),
        (CLIENT_CONFIGURATION, layers.client),
    ):
        if values is None:
            continue
        if not isinstance(values, dict):
            errors.append(SettingsError({"(all)": f"a table of settings, got {values!r}"}, source))
            continue
        settings, error = merge_lenient(settings, values, source)
        if error is not None:
            errors.append(error)
    return settings, errors


def needs_new_predictor(old: Settings, new: Settings) -> bool:
    """Return whether a settings change affects what the Predictor builds at construction."""
    before, after = as_dict(old), as_dict(new)
    before.pop("server")
    after.pop("server")
    return before != after


def describe_errors(errors: list[SettingsError]) -> str:
    details = " ".join(f"{error}." for error in errors)
    return f"{details} Until you fix these settings, amplifier-ls uses the defaults or lower-precedence values for them."


class ConfigurationManager:
    """Reads the layers, merges them and hands the result to the server."""

    def __init__(self, server: AmplifierServer):
        self._server = server
        self.layers = SettingsLayers()
        self._shown_problems: str | None = None
        self.reload_task: asyncio.Task[None] | None = None

    @property
    def settings_file(self) -> Path | None:
        workspace = self._server.workspace_root
        return workspace / SETTINGS_FILE if workspace is not None else None

    def read_file(self) -> None:
        self.layers.file, self.layers.file_error = {}, None
        path = self.settings_file
        if path is None or not path.is_file():
            return
        try:
            self.layers.file = load_file(path)
        except SettingsError as error:
            self.layers.file_error = error

    def compute(self) -> Settings:
        """Merge the layers and report invalid values once per distinct set of problems."""
        source = str(self.settings_file) if self.settings_file else SETTINGS_FILE
        settings, errors = resolve(self.layers, source)
        if errors:
            message = describe_errors(errors)
            logger.warning("%s", message)
            if message != self._shown_problems:
                self._shown_problems = message
                self._server.status.notify_user(message, types.MessageType.Warning)
        else:
            self._shown_problems = None
        return settings

    def client_pulls_configuration(self) -> bool:
        capabilities = self._server.client_capabilities
        return bool(capabilities.workspace and capabilities.workspace.configuration)

    async def pull_client_configuration(self) -> None:
        """Ask the client for the `amplifier` section with `workspace/configuration`."""
        root = self._server.workspace_root
        item = types.ConfigurationItem(section=SECTION, scope_uri=root.as_uri() if root else None)
        try:
            values = await asyncio.wait_for(
                self._server.workspace_configuration_async(types.ConfigurationParams(items=[item])),
                CONFIGURATION_TIMEOUT_S,
            )
        except TimeoutError:
            logger.warning(
                "workspace/configuration timed out after %g s, so the client's settings are not applied",
                CONFIGURATION_TIMEOUT_S,
            )
            return
        except Exception as error:  # noqa: BLE001 - a client without configuration support may answer anything
            logger.warning("workspace/configuration failed, so the client's settings are not applied: %s", error)
            return
        value = values[0] if values else None
        self.layers.client = value if value not in (None, [], "") else None

    def read_notification(self, settings: Any) -> None:
        """Take the `amplifier` section from a `didChangeConfiguration` payload."""
        if isinstance(settings, dict):
            self.layers.client = settings.get(SECTION)
        else:
            self.layers.client = None


def setup(server: AmplifierServer) -> None:
    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: AmplifierServer, params: types.DidChangeConfigurationParams) -> None:
        if ls.config.client_pulls_configuration():
            await ls.config.pull_client_configuration()
        else:
            ls.config.read_notification(params.settings)
        await ls.apply_settings(ls.config.compute())

    def reload_when_settings_file_saved(uri: str) -> None:
        path = to_fs_path(uri)
        settings_file = server.config.settings_file
        if path is None or settings_file is None or Path(path).resolve() != settings_file.resolve():
            return
        logger.info("Reloading %s", settings_file)
        server.config.read_file()
        server.config.reload_task = asyncio.ensure_future(server.apply_settings(server.config.compute()))

    server.save_listeners.append(reload_when_settings_file_saved)
