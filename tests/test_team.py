"""A team server's rules without a browser (issue 24): who is an admin, each person's folder,
what they may open and start, the audit log (two writers at once, no secret, a full disk), and
the dashboard's refusal to serve data on an open address without sign-in (Streamlit's AppTest;
the real sign-in through an OpenID provider is tests/test_team_browser.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest
from conftest import ROOT

from comparator.schema import audit, identity
from comparator.schema.errors import InputError
from comparator.schema.files import confined, open_regular, server_dirs
from comparator.schema.identity import User
from comparator.schema.settings import (
    SettingsError,
    allowed_dirs,
    allowed_path,
    data_dir,
    is_admin,
    may,
    settings,
    team_dir,
    user_dir,
)

ALICE = User(id="alice@example.test", groups=("comparator-admins",), admin=True)
BOB = User(id="bob@example.test")


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    for name in ("COMPARATOR_ADMINS", "COMPARATOR_ADMIN_GROUPS", "COMPARATOR_GRANT",
                 "COMPARATOR_DATA_DIRS", "COMPARATOR_ALLOW_ANONYMOUS"):
        monkeypatch.delenv(name, raising=False)
    before = identity._resolver  # the dashboard's, if a test imported it: put back after
    yield tmp_path / "home"
    identity.use(before)


def as_user(user: User | None) -> None:
    identity.use(lambda: user)


def test_admins_by_email_without_case_or_by_group(home, monkeypatch):
    monkeypatch.setenv("COMPARATOR_ADMINS", "Alice@Example.test, ops@example.test")
    monkeypatch.setenv("COMPARATOR_ADMIN_GROUPS", "comparator-admins")
    assert is_admin("alice@example.test") and is_admin("OPS@example.test")
    assert is_admin("carol@example.test", ["team", "comparator-admins"])
    assert not is_admin("bob@example.test", ["team"]) and not is_admin("alice@example")
    monkeypatch.setenv("COMPARATOR_GRANT", "paths, everything")
    with pytest.raises(SettingsError, match="COMPARATOR_GRANT"):
        settings()


def test_single_user_mode_is_unchanged(home, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_DATA_DIRS", str(tmp_path / "ops"))
    as_user(None)
    assert user_dir() == data_dir() == home
    assert may("paths") and may("runs")
    assert allowed_dirs() == [home.resolve(), (tmp_path / "ops").resolve()]


def test_each_user_has_a_folder_that_no_name_can_escape(home):
    as_user(BOB)
    bob = user_dir()
    assert bob.parent == home / "users" and bob.name.startswith("bob-example-test-")
    as_user(User(id="../../etc/passwd"))
    evil = user_dir()
    assert evil.parent == home / "users" and "/" not in evil.name and ".." not in evil.name
    as_user(User(id="Bob@example.test"))  # another identity: another folder
    assert user_dir() != bob


def test_who_may_open_what(home, tmp_path, monkeypatch):
    ops = tmp_path / "ops"
    ops.mkdir()
    monkeypatch.setenv("COMPARATOR_DATA_DIRS", str(ops))
    secret = ops / "eval.jsonl"
    secret.write_text("{}\n")
    as_user(ALICE)
    alices = user_dir() / "uploads" / "a.jsonl"
    alices.parent.mkdir(parents=True)
    alices.write_text("{}\n")
    shared = team_dir() / "runs" / "t.jsonl"
    shared.parent.mkdir(parents=True)
    shared.write_text("{}\n")
    assert allowed_path(secret) == secret.resolve() and allowed_path(alices)
    as_user(BOB)
    assert not may("paths") and not may("runs")
    assert allowed_path(shared) == shared.resolve()  # what the team shares
    for other in (secret, alices):
        with pytest.raises(ValueError, match="not in a folder this server may open"):
            allowed_path(other)
    with confined(server_dirs()):  # every read of Bob's script runs, checked when it reads
        os.close(open_regular(shared))
        with pytest.raises(InputError, match="not in a folder"):
            open_regular(alices)
    monkeypatch.setenv("COMPARATOR_GRANT", "paths runs")  # the operator grants both
    assert may("paths") and may("runs") and allowed_path(secret)


WRITER = """
import sys
from comparator.schema import audit
for i in range(300):
    audit.record("open", sys.argv[1], path=f"/data/{i}.jsonl", sha256="ab" * 32, n=i)
"""


def test_audit_log_two_writers_at_once_and_no_secret(home, monkeypatch):
    key = "sk-test-0123456789abcdefXYZ"
    monkeypatch.setenv("COMPARATOR_API_KEY_JUDGE", key)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, who], env=env)
             for who in ("alice@example.test", "bob@example.test")]
    assert [p.wait(120) for p in procs] == [0, 0]
    assert audit.record("run", "bob@example.test", out="/x/run.jsonl",
                        reason=f"HTTP 401 for https://u:{key}@api.example/v1 with key {key}")
    lines = audit.log_path().read_bytes().splitlines()
    assert len(lines) == 601
    events = [orjson.loads(x) for x in lines]  # no line torn or interleaved
    for who in ("alice@example.test", "bob@example.test"):
        assert [e["detail"]["n"] for e in events if e["user"] == who and e["event"] == "open"] \
            == list(range(300))
    assert key not in audit.log_path().read_text() and "***" in events[-1]["detail"]["reason"]
    assert [e.event for e in audit.read()][-1] == "run"


def test_a_full_disk_never_stops_the_page(home, monkeypatch, capsys):
    monkeypatch.setattr(audit, "log_path", lambda: audit.Path("/dev/full"))
    assert audit.record("sign-in", "bob@example.test") is False
    assert "audit log /dev/full was not written" in capsys.readouterr().err


def _app(address: str | None, monkeypatch, anonymous: bool = False):
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    if anonymous:
        monkeypatch.setenv("COMPARATOR_ALLOW_ANONYMOUS", "1")
    before = config.get_option("server.address")
    config.set_option("server.address", address)
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
        at.run()
    finally:
        config.set_option("server.address", before)
    return at


def test_an_open_address_without_sign_in_serves_no_data(home, monkeypatch, capfd):
    from comparator.ui import auth

    auth._WARNED.clear()  # said once a server process: this test's process says it again
    at = _app("0.0.0.0", monkeypatch)
    err = capfd.readouterr().err
    assert "comparator: warning: the dashboard is reachable from other machines (0.0.0.0) and " \
        "no sign-in is configured" in err and "no data is served" in err, err
    assert not at.exception
    assert any("Not serving data" in e.value for e in at.error)
    assert not at.metric and not at.dataframe  # the Overview's figures never ran
    assert not audit.read()  # nothing was opened


def test_an_open_address_served_anonymously_says_so(home, monkeypatch):
    at = _app("0.0.0.0", monkeypatch, anonymous=True)
    assert not at.exception and not at.error
    assert any("No sign-in" in e.value for e in at.sidebar.warning)
    assert at.metric  # the Overview is served


def test_this_machine_only_is_single_user_mode(home, monkeypatch):
    at = _app("127.0.0.1", monkeypatch)
    assert not at.exception and not at.error and at.metric
    assert any("Single-user mode" in e.value for e in at.sidebar.caption)
    assert not audit.log_path().exists()  # nothing changes for one person


def test_a_report_names_who_made_it_only_when_someone_did(home):
    from comparator.formats import load
    from comparator.reports.build import ViewSpec, build
    from comparator.reports.export import render

    loaded = load(ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl")
    spec = ViewSpec(examples=0, findings=False)
    mine = build(loaded, spec, made_by="bob@example.test")
    assert mine.data["provenance"]["made_by"] == "bob@example.test"
    assert "| made by | bob@example.test |" in render(mine, "md")
    assert "<td>made by</td><td><code>bob@example.test</code>" in render(mine, "html")
    alone = build(loaded, spec)  # single-user: the report is as it always was
    assert "made_by" not in alone.data["provenance"] and "made by" not in render(alone, "md")
