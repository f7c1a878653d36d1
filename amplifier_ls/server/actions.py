"""Code actions and the commands they run.

Listing actions is cheap: it reads the document structure and generates nothing. Each
generating action carries a command, and the generation runs when the user picks it
(`workspace/executeCommand`, see `generation`). The actions have no `codeAction/resolve`
step, because a resolved edit is applied by the client without progress reports and
without the re-anchoring a long generation needs.

The on-save suggestion's quick fix carries its edit directly: the text is already known
and belongs to the current version of the document.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types

from .documents import Snapshot
from .generation import CommandResult, run_generation
from .on_save import KIND_INSERT_SUGGESTION, suggestion_actions
from .server import AmplifierServer

logger = logging.getLogger(__name__)

CONTINUE_SECTION = "amplifier.continueSection"
WRITE_NEXT_SECTION = "amplifier.writeNextSection"
EXPAND_OUTLINE = "amplifier.expandOutline"
CANCEL = "amplifier.cancel"

KIND_CONTINUE = "refactor.amplifier.continueSection"
KIND_NEXT_SECTION = "refactor.amplifier.writeNextSection"
KIND_EXPAND = "refactor.amplifier.expandOutline"

CONTINUE_TITLE = "Continue this section"
NEXT_SECTION_TITLE = "Write the next section"
EXPAND_TITLE = "Expand this outline into a draft"

CODE_ACTION_KINDS = [KIND_CONTINUE, KIND_NEXT_SECTION, KIND_EXPAND, KIND_INSERT_SUGGESTION]


def list_actions(server: AmplifierServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    snapshot = server.documents.snapshot(params.text_document.uri)
    if snapshot is None:
        return []
    actions = [*suggestion_actions(server, snapshot, params), *_generation_actions(snapshot, params.range)]
    only = params.context.only
    if only:
        actions = [action for action in actions if _kind_matches(str(action.kind), only)]
    return actions


def _generation_actions(snapshot: Snapshot, selection: types.Range) -> list[types.CodeAction]:
    uri = snapshot.uri
    cursor = _position_json(selection.end)
    actions = [
        _action(CONTINUE_TITLE, KIND_CONTINUE, CONTINUE_SECTION, {"uri": uri, "position": cursor}),
        _action(NEXT_SECTION_TITLE, KIND_NEXT_SECTION, WRITE_NEXT_SECTION, {"uri": uri, "position": cursor}),
    ]

    start, end = snapshot.offset_at(selection.start), snapshot.offset_at(selection.end)
    document = snapshot.document
    if start != end:
        if any(block.start <= end and start <= block.end for block in document.structure.list_blocks):
            argument = {"uri": uri, "range": {"start": _position_json(selection.start), "end": cursor}}
            actions.append(_action(EXPAND_TITLE, KIND_EXPAND, EXPAND_OUTLINE, argument))
    elif document.list_block_at(end) is not None:
        actions.append(_action(EXPAND_TITLE, KIND_EXPAND, EXPAND_OUTLINE, {"uri": uri, "position": cursor}))
    return actions


def _action(title: str, kind: str, command: str, argument: dict[str, Any]) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=kind,
        command=types.Command(title=title, command=command, arguments=[argument]),
    )


def _position_json(position: types.Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}


def _kind_matches(kind: str, only: list[str]) -> bool:
    return any(kind == prefix or kind.startswith(prefix + ".") for prefix in only)


def setup(server: AmplifierServer) -> None:
    options = types.CodeActionOptions(code_action_kinds=CODE_ACTION_KINDS, resolve_provider=False)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, options)
    def code_action(ls: AmplifierServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return list_actions(ls, params)

    @server.command(CONTINUE_SECTION)
    async def continue_section(ls: AmplifierServer, *arguments: Any) -> dict[str, Any]:
        return await run_generation(ls, "continue", CONTINUE_TITLE, arguments)

    @server.command(WRITE_NEXT_SECTION)
    async def write_next_section(ls: AmplifierServer, *arguments: Any) -> dict[str, Any]:
        return await run_generation(ls, "next-section", NEXT_SECTION_TITLE, arguments)

    @server.command(EXPAND_OUTLINE)
    async def expand_outline(ls: AmplifierServer, *arguments: Any) -> dict[str, Any]:
        return await run_generation(ls, "expand", EXPAND_TITLE, arguments)

    @server.command(CANCEL)
    def cancel(ls: AmplifierServer, *arguments: Any) -> dict[str, Any]:
        """Cancel the generations for one document (`{"uri"}`), or all of them (`{}`)."""
        argument = arguments[0] if arguments and isinstance(arguments[0], dict) else {}
        uri = argument.get("uri") if isinstance(argument.get("uri"), str) else None
        count = len(ls.jobs.cancel(uri))
        noun = "generation" if count == 1 else "generations"
        return CommandResult(False, "ok", f"Cancelled {count} {noun}").as_json()
