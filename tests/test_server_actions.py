"""Code actions and the generation commands they run, against the real server process."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from fakes.openai_server import FakeOpenAIServer
from server_fixtures import code_actions, make_workspace, server_options, start_session

CLIENTS = ["vscode", "neovim"]
OUTLINE_DOCUMENT = "# Garden plan\n\nWhat grows where this year.\n\n- tomatoes by the wall\n- beans on the fence\n\n## Tools\n\nA spade.\n"
SLOW_TEXT = " ".join(f"word{index}" for index in range(40)) + "."


def action_params(document, start, end=None, only=None):
    return types.CodeActionParams(
        text_document=document.identifier,
        range=types.Range(start=start, end=end or start),
        context=types.CodeActionContext(diagnostics=[], only=only),
    )


def execute(session, command: types.Command, msg_id: str | None = None):
    params = types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    if msg_id is None:
        return asyncio.ensure_future(session.client.workspace_execute_command_async(params))
    return asyncio.ensure_future(
        session.client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id=msg_id)
    )


def progress_kinds(session) -> list[str]:
    reports = [value for values in session.client.progress_reports.values() for value in values]
    return [value.kind for value in reports]


async def wait_for(fake: FakeOpenAIServer, condition) -> None:
    await asyncio.to_thread(fake.wait_for, condition)


async def test_actions_listing(tmp_path):
    with FakeOpenAIServer({"default": {"text": "unused", "delay_ms": 0}}) as fake:
        async with start_session("vscode", make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            document = session.open("plan.md", OUTLINE_DOCUMENT)
            on_prose = document.position_of(OUTLINE_DOCUMENT.index("grows"))
            on_list = document.position_of(OUTLINE_DOCUMENT.index("beans"))
            selection = (document.position_of(OUTLINE_DOCUMENT.index("- tomatoes")), on_list)
            prose = await code_actions(session, action_params(document, on_prose))
            listed = await code_actions(session, action_params(document, on_list))
            selected = await code_actions(session, action_params(document, *selection))
            only_expand = await code_actions(session, 
                action_params(document, on_list, only=["refactor.amplifier.expandOutline"])
            )

    assert [item.command.command for item in prose] == ["amplifier.continueSection", "amplifier.writeNextSection"]
    assert [item.kind for item in prose] == ["refactor.amplifier.continueSection", "refactor.amplifier.writeNextSection"]
    assert [item.title for item in listed] == [
        "Continue this section",
        "Write the next section",
        "Expand this outline into a draft",
    ]
    expand = listed[2].command
    assert list(expand.arguments) == [{"uri": document.uri, "position": {"line": on_list.line, "character": on_list.character}}]
    assert selected[2].command.arguments[0]["range"]["start"] == {"line": 4, "character": 0}
    assert [item.command.command for item in only_expand] == ["amplifier.expandOutline"]
    assert fake.stats["completion_requests"] == 0


@pytest.mark.parametrize("client", CLIENTS)
async def test_continue_section_applies_edit(client, tmp_path):
    text = "# Soil\n\nCompost feeds the beds"
    with FakeOpenAIServer({"default": {"text": " all year round. Worms do the rest.", "delay_ms": 20}}) as fake:
        async with start_session(client, make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            document = session.open("soil.md", text)
            actions = await code_actions(session, action_params(document, document.end_position()))
            result = await execute(session, actions[0].command)
            edits = list(session.applied_edits)
            kinds = progress_kinds(session)

    assert result == {"applied": True, "status": "ok", "message": "Continue this section: inserted 7 words"}
    assert len(edits) == 1
    change = edits[0].edit.document_changes[0]
    assert change.text_document.version == 1
    assert [edit.range.start for edit in change.edits] == [types.Position(line=2, character=len("Compost feeds the beds"))]
    assert document.text == text + " all year round. Worms do the rest."
    assert kinds[0] == "begin"
    assert "report" in kinds
    assert kinds[-1] == "end"


@pytest.mark.parametrize("client", CLIENTS)
async def test_expand_outline_replaces_list(client, tmp_path):
    draft = "Tomatoes go by the warm wall.\n\nBeans climb the fence."
    with FakeOpenAIServer({"default": {"text": draft, "delay_ms": 0}}) as fake:
        async with start_session(client, make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            document = session.open("plan.md", OUTLINE_DOCUMENT)
            on_list = document.position_of(OUTLINE_DOCUMENT.index("beans"))
            actions = await code_actions(session, action_params(document, on_list))
            result = await execute(session, actions[2].command)
            edits = list(session.applied_edits)

    assert result["applied"] is True
    assert len(edits) == 1
    assert len(edits[0].edit.document_changes[0].edits) == 1
    assert "- tomatoes" not in document.text
    assert document.text.startswith("# Garden plan\n\nWhat grows where this year.\n\nTomatoes go by the warm wall.")
    assert "Beans climb the fence." in document.text
    assert document.text.endswith("\n\n## Tools\n\nA spade.\n")


async def test_edit_at_cursor_during_generation_is_stale(tmp_path):
    text = "# Soil\n\nCompost feeds"
    with FakeOpenAIServer({"default": {"text": SLOW_TEXT, "delay_ms": 40}}) as fake:
        async with start_session("neovim", make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            document = session.open("soil.md", text)
            actions = await code_actions(session, action_params(document, document.end_position()))
            running = execute(session, actions[0].command)
            await wait_for(fake, lambda stats: stats["completions_started"] >= 1)
            document.type(" the beds")
            result = await running
            edits = list(session.applied_edits)
            messages = [message.message for message in session.client.messages]

    assert result["status"] == "stale"
    assert result["applied"] is False
    assert edits == []
    assert document.text == text + " the beds"
    assert any("changed around the insertion point" in message for message in messages)


async def test_edit_elsewhere_during_generation_is_reanchored(tmp_path):
    intro = "Long opening paragraph about the garden. " * 8
    text = f"# Soil\n\n{intro}\n\nCompost feeds"
    with FakeOpenAIServer({"default": {"text": " the beds all year.", "delay_ms": 150}}) as fake:
        async with start_session("vscode", make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            document = session.open("soil.md", text)
            actions = await code_actions(session, action_params(document, document.end_position()))
            running = execute(session, actions[0].command)
            await wait_for(fake, lambda stats: stats["completions_started"] >= 1)
            document.replace(len("# Soil\n\n"), len("# Soil\n\n"), "A new first sentence. ")
            result = await running
            edits = list(session.applied_edits)

    assert result["status"] == "ok"
    assert edits[0].edit.document_changes[0].text_document.version == 2
    assert document.text == f"# Soil\n\nA new first sentence. {intro}\n\nCompost feeds the beds all year."


async def test_progress_cancel_stops_generation(tmp_path):
    with FakeOpenAIServer({"default": {"text": SLOW_TEXT, "delay_ms": 40}}) as fake:
        async with start_session("vscode", make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            document = session.open("notes.md", "# Notes\n\n## First\n\nSome text.\n")
            actions = await code_actions(session, action_params(document, document.end_position()))
            running = execute(session, actions[1].command)
            await wait_for(fake, lambda stats: stats["completions_started"] >= 1)
            while not session.client.progress_reports:
                await asyncio.sleep(0.02)
            token = next(iter(session.client.progress_reports))
            session.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
            result = await running
            await wait_for(fake, lambda stats: stats["completions_disconnected"] >= 1)
            edits = list(session.applied_edits)
            kinds = progress_kinds(session)

    assert result["status"] == "cancelled"
    assert result["applied"] is False
    assert edits == []
    assert kinds[-1] == "end"
    assert fake.stats["completions_finished"] == 0


async def test_cancel_request_stops_command(tmp_path):
    with FakeOpenAIServer({"default": {"text": SLOW_TEXT, "delay_ms": 40}}) as fake:
        async with start_session("neovim", make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            document = session.open("notes.md", "# Notes\n\nSome text")
            actions = await code_actions(session, action_params(document, document.end_position()))
            running = execute(session, actions[0].command, msg_id="command-to-cancel")
            await wait_for(fake, lambda stats: stats["completions_started"] >= 1)
            session.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="command-to-cancel"))
            with pytest.raises(JsonRpcRequestCancelled) as cancelled:
                await running
            await wait_for(fake, lambda stats: stats["completions_disconnected"] >= 1)
            edits = list(session.applied_edits)

    assert cancelled.value.code == -32800
    assert edits == []
    assert fake.stats["completions_finished"] == 0


async def test_cancel_command_stops_generation(tmp_path):
    with FakeOpenAIServer({"default": {"text": SLOW_TEXT, "delay_ms": 40}}) as fake:
        async with start_session("neovim", make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            document = session.open("notes.md", "# Notes\n\nSome text")
            actions = await code_actions(session, action_params(document, document.end_position()))
            running = execute(session, actions[0].command)
            await wait_for(fake, lambda stats: stats["completions_started"] >= 1)
            cancel = types.Command(title="Cancel", command="amplifier.cancel", arguments=[{"uri": document.uri}])
            cancelled = await execute(session, cancel)
            result = await running

    assert cancelled["message"] == "Cancelled 1 generation"
    assert result["status"] == "cancelled"


async def test_command_on_closed_document(tmp_path):
    with FakeOpenAIServer({"default": {"text": "unused", "delay_ms": 0}}) as fake:
        async with start_session("neovim", make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            command = types.Command(
                title="Continue",
                command="amplifier.continueSection",
                arguments=[{"uri": (tmp_path / "ws" / "missing.md").as_uri(), "position": {"line": 0, "character": 0}}],
            )
            result = await execute(session, command)

    assert result["status"] == "error"
    assert "is not open" in result["message"]


async def test_command_reports_on_request_token(tmp_path):
    with FakeOpenAIServer({"default": {"text": " all year round.", "delay_ms": 0}}) as fake:
        async with start_session("vscode", make_workspace(tmp_path / "ws"), server_options(fake, tmp_path / "cache")) as session:
            document = session.open("soil.md", "# Soil\n\nCompost feeds the beds")
            actions = await code_actions(session, action_params(document, document.end_position()))
            session.client.progress_reports["request-token"] = []
            params = types.ExecuteCommandParams(
                command=actions[0].command.command, arguments=actions[0].command.arguments, work_done_token="request-token"
            )
            result = await session.client.workspace_execute_command_async(params)
            tokens = list(session.client.progress_reports)
            kinds = progress_kinds(session)

    assert result["applied"] is True
    assert tokens == ["request-token"]
    assert kinds[0] == "begin"
    assert kinds[-1] == "end"
