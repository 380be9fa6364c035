"""Configuration precedence and secret handling."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgrec_neo4j.core.config import Settings, load_settings
from kgrec_neo4j.core.errors import ConfigError


def test_precedence_defaults_toml_env_flags(tmp_path):
    toml = tmp_path / "kgrec.toml"
    toml.write_text('neo4j_uri = "bolt://toml:1"\ntype_pack = "office_products"\nbatch_size = 77\n')
    s = load_settings(toml_path=toml, environ={})
    assert (s.neo4j_uri, s.type_pack, s.batch_size, s.neo4j_database) == ("bolt://toml:1", "office_products", 77, "neo4j")
    s = load_settings(toml_path=toml, environ={"NEO4J_URI": "bolt://env:2", "KGREC_BATCH_SIZE": "5"})
    assert (s.neo4j_uri, s.batch_size) == ("bolt://env:2", 5)
    s = load_settings({"neo4j_uri": "bolt://flag:3", "batch_size": None}, toml_path=toml,
                      environ={"NEO4J_URI": "bolt://env:2"})
    assert (s.neo4j_uri, s.batch_size) == ("bolt://flag:3", 77)


def test_kgrec_names_win_over_generic_ones():
    s = load_settings(environ={"OPENAI_BASE_URL": "http://a/v1", "KGREC_LLM_BASE_URL": "http://b/v1"})
    assert s.llm_base_url == "http://b/v1"


def test_secret_in_toml_is_refused(tmp_path):
    toml = tmp_path / "kgrec.toml"
    toml.write_text('neo4j_password = "hunter2hunter2"\n')
    with pytest.raises(ConfigError, match="secret.*NEO4J_PASSWORD"):
        load_settings(toml_path=toml, environ={})


def test_a_password_in_the_neo4j_uri_is_refused_without_printing_it(tmp_path):
    """A URI with user info (`bolt://neo4j:pw@host`): the driver refuses it, and every message that names the server
    printed the password (`kgrec status`, `kgrec doctor`, a config file's `neo4j_uri`)."""
    for env, toml in (({"NEO4J_URI": "bolt://neo4j:hunter2hunter2@127.0.0.1:7687"}, None),
                      ({}, 'neo4j_uri = "neo4j+s://neo4j:hunter2hunter2@db.example:7687"\n')):
        path = None
        if toml:
            path = tmp_path / "kgrec.toml"
            path.write_text(toml)
        with pytest.raises(ConfigError) as e:
            load_settings(toml_path=path, environ=env)
        assert "hunter2" not in str(e.value) and "NEO4J_PASSWORD" in str(e.value) and "***@" in str(e.value), e.value
    assert load_settings(environ={"NEO4J_URI": "bolt://db.example:7687"}).neo4j_uri == "bolt://db.example:7687"


def test_unknown_and_badly_typed_settings(tmp_path):
    toml = tmp_path / "kgrec.toml"
    toml.write_text('batch_sise = 3\n')
    with pytest.raises(ConfigError, match="unknown setting 'batch_sise'"):
        load_settings(toml_path=toml, environ={})
    with pytest.raises(ConfigError, match="KGREC_BATCH_SIZE.*must be int"):
        load_settings(environ={"KGREC_BATCH_SIZE": "many"})


def test_password_never_in_repr_or_redacted():
    s = load_settings(environ={"NEO4J_PASSWORD": "s3cret-value-123", "OPENAI_API_KEY": "sk-abc"})
    assert "s3cret" not in repr(s) and "sk-abc" not in repr(s)
    assert s.redacted()["neo4j_password"] == "***" and s.redacted()["llm_api_key"] == "***"
    with pytest.raises(ConfigError, match="NEO4J_PASSWORD is not set"):
        Settings().require_password()


def test_borrow_neighbours_setting():
    assert load_settings(environ={}).borrow_neighbours == 20
    assert load_settings(environ={"KGREC_BORROW_NEIGHBOURS": "0"}).borrow_neighbours == 0
    with pytest.raises(ConfigError, match="KGREC_BORROW_NEIGHBOURS.*between 0 and 1000"):
        load_settings(environ={"KGREC_BORROW_NEIGHBOURS": "-1"})
    assert load_settings(environ={}).borrow_from == "text"
    assert load_settings(environ={"KGREC_BORROW_FROM": "knowledge"}).borrow_from == "knowledge"
    with pytest.raises(ConfigError, match="borrow_from must be one of text, knowledge.*KGREC_BORROW_FROM"):
        load_settings(environ={"KGREC_BORROW_FROM": "title"})
    assert load_settings(environ={}).borrow_scale == 1.5
    llm = load_settings(environ={"KGREC_LLM_TIMEOUT": "5", "KGREC_LLM_MAX_RETRIES": "0"})
    assert (llm.llm_timeout_s, llm.llm_max_retries) == (5.0, 0)
    with pytest.raises(ConfigError, match="KGREC_LLM_TIMEOUT"):
        load_settings(environ={"KGREC_LLM_TIMEOUT": "0"})
    assert load_settings(environ={"KGREC_BORROW_SCALE": "2"}).borrow_scale == 2.0
    with pytest.raises(ConfigError, match="KGREC_BORROW_SCALE.*between 0.01 and 100"):
        load_settings(environ={"KGREC_BORROW_SCALE": "0"})


def test_a_stored_failure_reason_is_bounded_and_hides_the_endpoints_secrets():
    """The reason a failed item, user or review text keeps in the graph (Item.extract_error, User.interests_error,
    INTERACTED.text_error): the API key and the secrets of the endpoint URL never reach the database."""
    from kgrec_neo4j.core.config import MAX_STORED_ERROR, stored_error

    s = Settings(llm_base_url="https://u:s3cr3t@api.example.com/v1?api_key=qk123", llm_api_key="sk-abcdef123456")
    got = stored_error("http_error: HTTP 401: Incorrect API key provided: sk-abcdef123456 at "
                       "https://u:s3cr3t@api.example.com/v1?api_key=qk123/chat/completions (qk123)\n\tmore", s)
    assert "sk-abcdef123456" not in got and "s3cr3t" not in got and "qk123" not in got and "\n" not in got
    assert got.startswith("http_error: HTTP 401: Incorrect API key provided: *** at https://u:***@api.example.com")
    long = stored_error("invalid_json: " + "x" * 10_000, s)
    assert len(long) == MAX_STORED_ERROR and long.endswith("...")
    assert stored_error(None) == "unknown failure" and stored_error("timeout: read", None) == "timeout: read"


def test_redact_url_hides_the_secrets_of_a_url_only():
    from kgrec_neo4j.core.config import redact_in, redact_url

    assert redact_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"
    assert redact_url("https://u:p4ss@api.example.com/v1") == "https://u:***@api.example.com/v1"
    assert redact_url("https://api.example.com/v1?api_key=abc&x=1") == "https://api.example.com/v1?api_key=***&x=1"
    assert redact_url("bolt://127.0.0.1:7687") == "bolt://127.0.0.1:7687"
    assert redact_url("not a url") == "not a url"
    url = "http://u:s3cr3t@h:1/v1"
    assert redact_in(f"GET {url}/models failed: s3cr3t refused", url) == "GET http://u:***@h:1/v1/models failed: *** refused"


def test_an_llm_endpoint_without_a_model_name_is_named_by_its_address(tmp_path):
    """Two endpoints without KGREC_LLM_MODEL were both "default": the second server got the first one's cached
    answers, and its items counted as done. Without a model name the endpoint's address names it (never its
    credentials); the extractor marks items done under that name, and update and status look for it."""
    from kgrec_neo4j.core.config import llm_model_name
    from kgrec_neo4j.extract.run import marked_name
    from kgrec_neo4j.llm.client import LLMClient

    a = load_settings(environ={"KGREC_LLM_BASE_URL": "http://user:secret@127.0.0.1:8089/v1/", "KGREC_HOME": str(tmp_path)})
    b = load_settings(environ={"KGREC_LLM_BASE_URL": "http://127.0.0.1:8099/v1", "KGREC_HOME": str(tmp_path)})
    named = load_settings(environ={"KGREC_LLM_BASE_URL": "http://127.0.0.1:8099/v1", "KGREC_LLM_MODEL": "m",
                                   "KGREC_HOME": str(tmp_path)})
    assert llm_model_name(a) == "default@127.0.0.1:8089/v1" and "secret" not in llm_model_name(a)
    assert llm_model_name(b) == "default@127.0.0.1:8099/v1" and llm_model_name(named) == "m"
    for s in (b, named, load_settings(environ={"KGREC_LLM_BASE_URL": "http://127.0.0.1:8089/v1?key=secret",
                                               "KGREC_HOME": str(tmp_path)})):
        client = LLMClient(s, cache=False)
        try:
            assert client.model_name == llm_model_name(s) and marked_name(s, "llm") == f"llm:{client.model_name}"
        finally:
            client.close()
    assert marked_name(a, "offline") == "offline"


def test_relative_paths_in_a_config_file_are_read_from_its_folder(tmp_path, monkeypatch):
    """`kgrec --config conf/kgrec.toml` with `type_pack = "mine.yaml"` beside it looked for mine.yaml in the current
    folder."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "kgrec.toml").write_text('type_pack = "packs/mine.yaml"\nhome = "state"\ndata_dir = "/abs/data"\n')
    monkeypatch.chdir(tmp_path)
    s = load_settings(toml_path=conf / "kgrec.toml", environ={})
    assert Path(s.type_pack) == conf / "packs" / "mine.yaml" and s.home_path == (conf / "state").resolve()
    assert s.data_dir == "/abs/data"
    (conf / "kgrec.toml").write_text('type_pack = "movies"\n')  # a shipped pack's name is no path
    assert load_settings(toml_path=conf / "kgrec.toml", environ={}).type_pack == "movies"
    (conf / "kgrec.toml").write_text('type_pack = "~/packs/mine.yaml"\n')  # a home path is expanded
    assert load_settings(toml_path=conf / "kgrec.toml", environ={}).type_pack == str(Path.home() / "packs/mine.yaml")
    # the environment and flags are read from the current folder, as before
    assert load_settings(toml_path=conf / "kgrec.toml", environ={"KGREC_HOME": "here"}).home == "here"
