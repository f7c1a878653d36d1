import pytest

from amplifier_ls.errors import SettingsError
from amplifier_ls.settings import Settings, iter_fields, load, merge, merge_lenient


def test_defaults_have_descriptions():
    for key, _annotation, _default, description in iter_fields():
        assert description, key


def test_merge_nested_and_dotted():
    settings = merge(Settings(), {"decoding": {"temperature": 0.3}, "prediction.samples": 2})
    assert settings.decoding.temperature == 0.3
    assert settings.prediction.samples == 2


def test_merge_does_not_mutate_original():
    original = Settings()
    merge(original, {"corpus.paths": ["x"]})
    assert original.corpus.paths == []


def test_invalid_values_named():
    with pytest.raises(SettingsError) as caught:
        merge(Settings(), {"backend": "gpt", "decoding": {"temperature": 9}, "nope": 1})
    problems = caught.value.problems
    assert set(problems) == {"backend", "decoding.temperature", "nope"}
    assert 'one of "local", "openai", "anthropic"' in problems["backend"]
    assert "from 0 to 2" in problems["decoding.temperature"]


def test_lenient_merge_keeps_valid_keys():
    settings, error = merge_lenient(Settings(), {"backend": "openai", "decoding.top_p": "high"}, "options")
    assert settings.backend == "openai"
    assert settings.decoding.top_p == Settings().decoding.top_p
    assert error is not None and "decoding.top_p" in error.problems


def test_hyphenated_keys_accepted():
    assert merge(Settings(), {"decoding": {"max-tokens": 12}}).decoding.max_tokens == 12


def test_bool_is_not_an_integer():
    with pytest.raises(SettingsError):
        merge(Settings(), {"decoding.max_tokens": True})


def test_settings_file_loaded(tmp_path):
    (tmp_path / ".amplifier.toml").write_text('backend = "openai"\n[openai]\nbase_url = "http://127.0.0.1:9/v1"\n')
    settings = load(tmp_path, {"model": "m"})
    assert settings.backend == "openai"
    assert settings.openai.base_url == "http://127.0.0.1:9/v1"
    assert settings.model == "m"


def test_settings_file_syntax_error_named(tmp_path):
    (tmp_path / ".amplifier.toml").write_text("backend = \n")
    with pytest.raises(SettingsError, match=r"\.amplifier\.toml"):
        load(tmp_path)
