"""The language server with the anthropic backend, against the fake Messages API."""

from lsprotocol import types

from fakes.anthropic_server import TEST_API_KEY, FakeAnthropicServer, Reply
from server_fixtures import make_workspace, start_session


async def test_anthropic_backend_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_API_KEY)
    with FakeAnthropicServer(default_reply=Reply(text="beans climbed the fence by July. Then more.")) as fake:
        options = {
            "backend": "anthropic",
            "model": "claude-haiku-4-5",
            "anthropic": {"base_url": fake.base_url, "max_retries": 0},
            "cache": {"dir": str(tmp_path / "cache")},
            "server": {"inline_candidates": 1},
        }
        async with start_session("vscode", make_workspace(tmp_path / "ws"), options) as session:
            status = await session.wait_for_status(lambda status: status.get("backend") == "anthropic")
            document = session.open("draft.md", "# Beans\n\nThe runner ")
            cursor = document.end_position()
            result = await session.client.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    text_document=document.identifier,
                    position=cursor,
                    context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                )
            )
        requests = [request for request in fake.requests if request.path == "/v1/messages"]

    assert status["model"] == "claude-haiku-4-5"
    assert [item.insert_text for item in result.items] == ["beans climbed the fence by July."]
    assert result.items[0].range == types.Range(start=cursor, end=cursor)
    assert len(requests) == 1
    body = requests[0].body
    assert requests[0].api_key_valid
    assert body["messages"][-1]["role"] == "assistant"
    assert body["messages"][-1]["content"][-1]["text"].endswith("The runner")
