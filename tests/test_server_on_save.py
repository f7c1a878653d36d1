"""Suggestions on save: the hint diagnostic, its quick fix, and clearing it on change."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from fakes.openai_server import FakeOpenAIServer
from server_fixtures import code_actions, make_workspace, server_options, start_session

CLIENTS = ["vscode", "neovim"]
DOCUMENT = "# Garden\n\n## Tomatoes\n\nThey need sun and a stake.\n"
NEXT_SECTION = "Beans\n\nBeans climb anything you give them, and a fence is best."


async def diagnostics_for(session, uri: str, condition, timeout: float = 20) -> list[types.Diagnostic]:
    async def poll() -> list[types.Diagnostic]:
        while not condition(session.client.diagnostics.get(uri)):
            await asyncio.sleep(0.02)
        return list(session.client.diagnostics[uri])

    return await asyncio.wait_for(poll(), timeout)


def quick_fix_params(document, diagnostic: types.Diagnostic) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=document.identifier,
        range=diagnostic.range,
        context=types.CodeActionContext(diagnostics=[diagnostic]),
    )


@pytest.mark.parametrize("client", CLIENTS)
async def test_save_suggests_next_section(client, tmp_path):
    with FakeOpenAIServer({"default": {"text": NEXT_SECTION, "delay_ms": 0}}) as fake:
        async with start_session(client, make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            document = session.open("garden.md", DOCUMENT)
            document.save()
            diagnostics = await diagnostics_for(session, document.uri, bool)
            actions = await code_actions(session, quick_fix_params(document, diagnostics[0]))
            fix = actions[0]
            session.documents[document.uri].apply(fix.edit.document_changes[0])
            cleared = await diagnostics_for(session, document.uri, lambda found: found is not None and len(found) == 0)

    diagnostic = diagnostics[0]
    assert len(diagnostics) == 1
    assert diagnostic.severity == types.DiagnosticSeverity.Hint
    assert diagnostic.source == "amplifier"
    assert diagnostic.message.startswith("Suggested next section: ## Beans Beans climb anything")
    assert diagnostic.range.start == types.Position(line=4, character=0)
    assert fix.title == "Insert the suggested next section"
    assert fix.kind == "quickfix.amplifier.insertSuggestion"
    assert fix.edit.document_changes[0].text_document.version == 1
    assert document.text == DOCUMENT + "\n## " + NEXT_SECTION
    assert list(cleared) == []
    assert fake.stats["completion_requests"] == 1


async def test_change_clears_suggestion(tmp_path):
    with FakeOpenAIServer({"default": {"text": NEXT_SECTION, "delay_ms": 0}}) as fake:
        async with start_session("neovim", make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            document = session.open("garden.md", DOCUMENT)
            document.save()
            await diagnostics_for(session, document.uri, bool)
            document.type("More text.")
            cleared = await diagnostics_for(session, document.uri, lambda found: found is not None and len(found) == 0)
            actions = await code_actions(
                session, quick_fix_params(document, types.Diagnostic(range=types.Range(start=types.Position(4, 0), end=types.Position(4, 5)), message=""))
            )
            result = await session.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="amplifier.insertSuggestion", arguments=[{"uri": document.uri}])
            )

    assert list(cleared) == []
    assert all(action.kind != "quickfix.amplifier.insertSuggestion" for action in actions)
    assert result["status"] == "stale"


async def test_save_in_outline_mode(tmp_path):
    text = "# Plan\n\n## Beds\n\nWhere things go.\n\n- tomatoes by the wall\n- beans on the fence\n"
    draft = "Tomatoes go by the warm wall, and the beans climb the fence."
    with FakeOpenAIServer({"default": {"text": draft, "delay_ms": 0}}) as fake:
        options = server_options(fake, tmp_path / "cache", server={"on_save": "outline"})
        async with start_session("vscode", make_workspace(tmp_path / "ws"), options) as session:
            document = session.open("plan.md", text)
            document.replace(text.index("wall"), text.index("wall") + 4, "wall")
            document.save()
            diagnostics = await diagnostics_for(session, document.uri, bool)
            result = await session.client.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command="amplifier.insertSuggestion", arguments=[{"uri": document.uri, "version": document.version}]
                )
            )

    assert diagnostics[0].message.startswith("Suggested draft for this outline: Tomatoes go by")
    assert diagnostics[0].range.start == types.Position(line=6, character=0)
    assert result["applied"] is True
    assert document.text == "# Plan\n\n## Beds\n\nWhere things go.\n\n" + draft + "\n"


async def test_save_off_predicts_nothing(tmp_path):
    with FakeOpenAIServer({"default": {"text": NEXT_SECTION, "delay_ms": 0}}) as fake:
        options = server_options(fake, tmp_path / "cache", server={"on_save": "off"})
        async with start_session("neovim", make_workspace(tmp_path / "ws"), options) as session:
            document = session.open("garden.md", DOCUMENT)
            document.save()
            ping = await session.client.protocol.send_request_async("amplifier/ping", None)

    assert ping is None
    assert fake.stats["completion_requests"] == 0
    assert document.uri not in session.client.diagnostics
