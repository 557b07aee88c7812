"""The token book, the proxy's trust and the read/write rule (no model, no index)."""

from __future__ import annotations

import json
import stat

import pytest

from qa.access import ADMINISTRATOR, ANONYMOUS, AccessBook, Gate, check_read, check_write
from qa.cli import main
from qa.collections import CollectionInfo, scoped_article_id, valid_name
from qa.config import Settings
from qa.errors import ConfigError, Forbidden, InvalidQuestion, Unauthorized

KNOWN = {
    "default": CollectionInfo("default"),
    "legal": CollectionInfo("legal", private=True),
    "hr": CollectionInfo("hr", private=True),
}


def gate(tmp_path, **settings) -> Gate:
    return Gate(Settings(index_dir=tmp_path, **settings), AccessBook(tmp_path / "access.json"))


def test_a_token_is_kept_as_its_hash_only_and_gives_its_scope(tmp_path):
    book = AccessBook(tmp_path / "access.json")
    entry, token = book.add_token(["legal, default"], ["legal"], "legal desk")
    text = (tmp_path / "access.json").read_text()
    assert token.startswith("qa_") and len(token) > 40
    assert token not in text and entry.sha256 in text
    assert stat.S_IMODE((tmp_path / "access.json").stat().st_mode) == 0o600
    scope = book.scope_for_token(token)
    assert scope is not None and scope.read == {"legal", "default"} and scope.write == {"legal"}
    assert book.scope_for_token(token + "x") is None
    assert "sha256" not in entry.listing()


def test_a_revoked_token_is_anonymous_for_reads_and_refused_for_writes(tmp_path):
    g = gate(tmp_path)
    g.book.add_token(["hr"])  # the book is not empty: a write without a token is a 401
    entry, token = g.book.add_token(["legal"], ["legal"])
    headers = {"authorization": f"Bearer {token}"}
    assert g.scope(headers, "127.0.0.1").read == {"legal"}
    g.book.revoke(entry.id)
    assert g.scope(headers, "127.0.0.1") is ANONYMOUS
    with pytest.raises(Unauthorized):
        g.writer_scope(headers, "127.0.0.1")
    with pytest.raises(InvalidQuestion, match="no token with id"):
        g.book.revoke(entry.id)


def test_a_running_server_sees_a_token_added_by_another_process(tmp_path):
    g = gate(tmp_path)
    assert g.scope({"authorization": "Bearer qa_x"}, None) is ANONYMOUS
    _, token = AccessBook(tmp_path / "access.json").add_token(["hr"])  # another book object
    assert g.scope({"authorization": f"bearer {token}"}, None).read == {"hr"}


def test_the_administrators_token_reads_and_writes_everything(tmp_path):
    g = gate(tmp_path, api_token="admin-secret")
    assert g.scope({"authorization": "Bearer admin-secret"}, None) is ADMINISTRATOR
    check_read(ADMINISTRATOR, "hr", KNOWN)
    check_write(ADMINISTRATOR, "hr", KNOWN)


def test_private_needs_a_scope_public_does_not_and_unknown_reads_as_private(tmp_path):
    check_read(ANONYMOUS, "default", KNOWN)
    for name in ("legal", "nope"):
        with pytest.raises(Forbidden) as refused:
            check_read(ANONYMOUS, name, KNOWN)
        assert str(refused.value) == f"collection {name!r} is not one you may read"
    book = AccessBook(tmp_path / "access.json")
    _, token = book.add_token(["legal"])
    legal = book.scope_for_token(token)
    assert legal is not None
    check_read(legal, "legal", KNOWN)
    with pytest.raises(Forbidden):
        check_read(legal, "hr", KNOWN)
    with pytest.raises(Forbidden, match="not one you may write to"):
        check_write(legal, "legal", KNOWN)


def test_proxy_headers_count_only_from_a_trusted_address(tmp_path):
    g = gate(tmp_path, trusted_proxies=("10.0.0.0/24",))
    g.book._change(lambda raw: raw.update(groups={"legal-team": {"read": ["legal"]}}))
    headers = {"x-forwarded-user": "ann", "x-forwarded-groups": "staff, legal-team"}
    assert g.scope(headers, "10.0.0.7").read == {"legal"}
    assert g.scope(headers, "10.0.1.7") is ANONYMOUS  # not the proxy
    assert g.scope(headers, None) is ANONYMOUS
    assert g.scope({"x-forwarded-user": "ann"}, "10.0.0.7").read == frozenset()
    untrusting = gate(tmp_path)  # no QA_TRUSTED_PROXIES: headers never count
    assert untrusting.scope(headers, "10.0.0.7") is ANONYMOUS


def test_writes_are_refused_plainly_when_nothing_could_write(tmp_path):
    with pytest.raises(Forbidden, match="writes are disabled"):
        gate(tmp_path).writer_scope({}, "127.0.0.1")
    with pytest.raises(Unauthorized):
        gate(tmp_path, api_token="t").writer_scope({}, "127.0.0.1")


def test_bad_names_and_files_are_clear_errors(tmp_path):
    with pytest.raises(InvalidQuestion, match="not a collection name"):
        AccessBook(tmp_path / "a.json").add_token(["Legal Desk"])
    with pytest.raises(InvalidQuestion, match="needs --read or --write"):
        AccessBook(tmp_path / "a.json").add_token([])
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot be read"):
        AccessBook(tmp_path / "broken.json").tokens()
    with pytest.raises(ConfigError, match="QA_TRUSTED_PROXIES"):
        gate(tmp_path, trusted_proxies=("proxy.example",))
    with pytest.raises(ConfigError, match="QA_COLLECTION"):
        Settings(collection="../etc").validate()
    assert valid_name("legal-2") == "legal-2"
    assert scoped_article_id("default", "a-1") == "a-1"
    assert scoped_article_id("legal", "a-1") == "legal:a-1"


def test_qa_token_add_list_revoke(tmp_path, capsys):
    index = str(tmp_path / "index")
    assert main(["--index", index, "token", "add", "--read", "legal,hr", "--label", "desk"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    token = printed[-1]  # the token is the last line, alone
    assert token.startswith("qa_")
    assert main(["--index", index, "token", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["read"] == ["legal", "hr"] and listed["label"] == "desk"
    assert token not in json.dumps(listed)
    assert main(["--index", index, "token", "revoke", listed["id"]]) == 0
    assert AccessBook(tmp_path / "index" / "access.json").tokens() == []
    assert main(["--index", index, "token", "add"]) == 2  # no scope: a usage error
