"""Opening files by path or URL (Data page's "Path or URL"), `python -m comparator open FILE`,
and uploads streamed to disk: real files of ../shared/data, a real local HTTP server, the real
app through AppTest and a real `streamlit run`."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import LLMC_TINY, ROOT, free_port, running

from comparator.formats import InputError, load
from comparator.schema.settings import allowed_url
from comparator.ui import state

DEMO = ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl"


@pytest.fixture()
def dirs(tmp_path, monkeypatch):
    """A user data dir and one allowed folder (holding the LLM Comparator example), both in
    tmp; no URL prefixes."""
    home, allowed, outside = tmp_path / "home", tmp_path / "allowed", tmp_path / "outside"
    for d in (home, allowed, outside):
        d.mkdir()
    shutil.copy(LLMC_TINY, allowed / LLMC_TINY.name)
    shutil.copy(DEMO, outside / DEMO.name)
    monkeypatch.setenv("COMPARATOR_HOME", str(home))
    monkeypatch.setenv("COMPARATOR_DATA_DIRS", os.pathsep.join([str(allowed), str(home)]))
    monkeypatch.delenv("COMPARATOR_URL_PREFIXES", raising=False)
    monkeypatch.delenv("COMPARATOR_URL_MAX_BYTES", raising=False)
    return {"home": home, "allowed": allowed, "outside": outside}


class _Handler(SimpleHTTPRequestHandler):
    """Files of the served folder, plus /data/out (a redirect to another host), /data/in (a
    redirect inside the allowed prefix) and /data/stream (64 KiB without a Content-Length)."""

    def do_GET(self):
        port = self.server.server_address[1]
        target = {"/data/out": f"http://localhost:{port}/data/{DEMO.name}",
                  "/data/in": f"/data/{DEMO.name}"}.get(self.path)
        if target:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/data/stream":  # no Content-Length: the body ends when the server closes
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"x" * 1024)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture()
def http_server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving the MT-Bench demo at /data/ and /database/."""
    root = tmp_path / "www"
    for sub in ("data", "database"):
        (root / sub).mkdir(parents=True)
        shutil.copy(DEMO, root / sub / DEMO.name)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def data_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    return at


def open_location(at, text: str):
    at.text_input(key="open_location").set_value(text)
    next(b for b in at.button if b.label == "Open").click().run()
    assert not at.exception, at.exception
    return at


def errors(at) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", e.value).replace("\u2060", "") for e in at.error]


def examples(at) -> str:
    return next(m.value for m in at.metric if m.label == "Examples")


def n_examples(path: Path) -> str:
    return f"{len(load(path).comparison.examples):,}"


# ---- paths -------------------------------------------------------------------------------------

def test_a_path_in_an_allowed_folder_opens(dirs):
    path = dirs["allowed"] / LLMC_TINY.name
    at = open_location(data_page(), str(path))
    assert not at.error, errors(at)
    assert at.session_state[state.SOURCE] == ("path", str(path.resolve()))
    assert examples(at) == n_examples(LLMC_TINY)
    at.switch_page("pages/overview.py").run()
    assert not at.exception and not at.error


def test_a_path_is_read_once_for_the_open_and_the_pages_after_it(dirs, monkeypatch):
    """The Open button and every page after it share one cache entry: the file is read (and
    hashed) once, not once for the open and again for the page that shows it."""
    path = dirs["allowed"] / LLMC_TINY.name
    reads = []
    real = state.open_store
    monkeypatch.setattr(state, "open_store", lambda p, *a: reads.append(p) or real(p, *a))
    at = open_location(data_page(), str(path))
    assert not at.error, errors(at)
    at.switch_page("pages/overview.py").run()
    assert not at.exception and not at.error
    assert reads.count(str(path.resolve())) == 1, reads


def test_a_path_outside_is_refused_and_nothing_opens(dirs):
    at = data_page()
    before = examples(at)
    at = open_location(at, str(dirs["outside"] / DEMO.name))
    msg = " ".join(errors(at))
    assert "not in a folder this server may open files from" in msg, msg
    assert "COMPARATOR_DATA_DIRS" in msg and str(dirs["allowed"]) in msg
    assert "Traceback" not in msg
    assert state.SOURCE not in at.session_state or at.session_state[state.SOURCE][0] != "path"
    assert examples(at) == before
    # a symlink inside the allowed folder to a file outside is refused too
    link = dirs["allowed"] / "link.jsonl"
    link.symlink_to(dirs["outside"] / DEMO.name)
    at = open_location(at, str(link))
    assert any("not in a folder" in e for e in errors(at))
    assert examples(at) == before


# ---- URLs --------------------------------------------------------------------------------------

def test_urls_are_refused_by_default(dirs, http_server):
    at = open_location(data_page(), f"{http_server}/data/{DEMO.name}")
    msg = " ".join(errors(at))
    assert "set COMPARATOR_URL_PREFIXES" in msg, msg
    assert not (dirs["home"] / "downloads").exists() or not any(
        (dirs["home"] / "downloads").iterdir())


def test_a_url_under_an_allowed_prefix_downloads_and_opens(dirs, http_server, monkeypatch):
    monkeypatch.setenv("COMPARATOR_URL_PREFIXES", f"https://example.org/x/, {http_server}/data/")
    url = f"{http_server}/data/{DEMO.name}"
    at = open_location(data_page(), url)
    assert not at.error, errors(at)
    src = at.session_state[state.SOURCE]
    assert src[0] == "path" and Path(src[1]).parent == dirs["home"] / "downloads"
    assert Path(src[1]).read_bytes() == DEMO.read_bytes()
    assert Path(src[1]).name == hashlib.sha256(url.encode()).hexdigest()[:16] + "-" + DEMO.name
    assert examples(at) == n_examples(DEMO)
    assert not [p for p in Path(src[1]).parent.iterdir() if p.name.startswith(".part-")]
    # a redirect inside the prefix is followed
    at = open_location(at, f"{http_server}/data/in")
    assert not at.error, errors(at)
    assert examples(at) == n_examples(DEMO)


@pytest.mark.parametrize("url, why", [
    ("{server}/database/" + DEMO.name, "not under a URL prefix"),  # path prefix confusion
    ("http://allowed.example.com.evil.invalid/data/x.jsonl", "not under a URL prefix"),
    ("http://allowed.example.com@evil.invalid/data/x.jsonl", "not under a URL prefix"),
    ("{server}/data/out", "redirected to a URL this server may not open"),
    ("{server}/data/../database/" + DEMO.name, "'..' in the path"),
    ("file:///etc/passwd", "only http:// and https://"),
    ("ftp://allowed.example.com/data/x.jsonl", "only http:// and https://"),
])
def test_urls_outside_the_prefixes_are_refused(dirs, http_server, monkeypatch, url, why):
    monkeypatch.setenv("COMPARATOR_URL_PREFIXES",
                       f"{http_server}/data/ http://allowed.example.com/data/")
    at = data_page()
    before = examples(at)
    at = open_location(at, url.format(server=http_server))
    msg = " ".join(errors(at))
    assert why in msg, msg
    assert "Traceback" not in msg
    assert examples(at) == before
    downloads = dirs["home"] / "downloads"
    assert not downloads.exists() or not any(downloads.iterdir())


def test_allowed_url_compares_parsed_parts(monkeypatch):
    monkeypatch.setenv("COMPARATOR_URL_PREFIXES", "http://allowed.example.com/data,"
                       "HTTPS://Files.Example.org:8443/")
    assert allowed_url("http://allowed.example.com/data/a.json")
    assert allowed_url("http://allowed.example.com:80/data")
    assert allowed_url("https://files.example.org:8443/any/file.jsonl")
    for bad in ("http://allowed.example.com/database.json", "https://allowed.example.com/data/x",
                "http://allowed.example.com:8080/data/x", "https://files.example.org/x",
                "http://allowed.example.com.evil.com/data/x", "data:,hello", "javascript:x"):
        with pytest.raises(ValueError):
            allowed_url(bad)


def test_the_size_cap_stops_a_download(dirs, http_server, monkeypatch):
    from comparator.formats.fetch import download

    monkeypatch.setenv("COMPARATOR_URL_PREFIXES", f"{http_server}/data/")
    monkeypatch.setenv("COMPARATOR_URL_MAX_BYTES", "1000")
    with pytest.raises(ValueError, match="COMPARATOR_URL_MAX_BYTES"):
        download(f"{http_server}/data/{DEMO.name}")  # refused from its Content-Length
    with pytest.raises(ValueError, match="larger than 1,000 bytes"):
        download(f"{http_server}/data/stream")  # refused while streaming
    assert not any((dirs["home"] / "downloads").iterdir())  # the partial file is gone
    with pytest.raises(ValueError, match="404"):
        monkeypatch.setenv("COMPARATOR_URL_MAX_BYTES", str(1 << 30))
        download(f"{http_server}/data/missing.jsonl")


def test_settings_are_read_when_used_and_a_bad_value_names_its_variable(tmp_path, monkeypatch):
    from comparator.formats.common import free_memory
    from comparator.schema.settings import SettingsError, data_dir, settings

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "one"))
    monkeypatch.setenv("COMPARATOR_MAX_MEMORY", "1.5K")
    assert (data_dir(), free_memory()) == (tmp_path / "one", 1536)
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "two"))  # a change counts at once
    monkeypatch.setenv("COMPARATOR_MAX_MEMORY", "2g")
    assert (data_dir(), free_memory()) == (tmp_path / "two", 2 << 30)
    monkeypatch.setenv("COMPARATOR_DEBUG", "0")
    assert not settings().debug
    for var, value, expects in (("COMPARATOR_MAX_MEMORY", "lots", "a number of bytes, or with"),
                                ("COMPARATOR_URL_MAX_BYTES", "1e9x", "a number of bytes"),
                                ("COMPARATOR_STORE_MAX_GB", "abc", "a number of gigabytes")):
        monkeypatch.setenv(var, value)
        with pytest.raises(SettingsError, match=f"^{var}='{value}': expected {expects}"):
            data_dir()
        monkeypatch.delenv(var)
    env = {**os.environ, "COMPARATOR_STORE_MAX_GB": "abc"}
    r = subprocess.run([sys.executable, "-m", "comparator", "stats", str(LLMC_TINY)], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == ["error: COMPARATOR_STORE_MAX_GB='abc': expected a number of "
                                     "gigabytes (e.g. 20); fix or unset the variable"]


# ---- uploads -----------------------------------------------------------------------------------

def test_an_upload_is_saved_by_content_and_opened_from_disk(dirs):
    at = data_page()
    data = LLMC_TINY.read_bytes()
    at.file_uploader(key="upload").set_value((LLMC_TINY.name, data, "application/json")).run()
    next(b for b in at.button if b.label == "Load").click().run()
    assert not at.exception and not at.error, errors(at)
    sha = hashlib.sha256(data).hexdigest()
    saved = dirs["home"] / "uploads" / f"{sha[:16]}-{LLMC_TINY.name}"
    assert saved.read_bytes() == data
    assert at.session_state[state.UPLOAD_SHA256] == sha
    assert at.session_state[state.UPLOAD_PATH] == str(saved)
    assert at.session_state[state.SOURCE][0] == "upload"
    assert examples(at) == n_examples(LLMC_TINY)


def test_a_big_upload_is_detected_from_its_head(tmp_path):
    """Past 1 MiB the preview reads only the head: JSON lines and a JSON list are still
    recognised, a table's columns found."""
    import io

    from comparator.formats import peek
    from comparator.formats.common import Source
    from comparator.formats.detect import detect_format

    lines = DEMO.read_bytes().splitlines(keepends=True)
    big = b"".join(lines * (2 * peek.HEAD_BYTES // len(b"".join(lines)) + 1))
    src, complete = peek.head(io.BytesIO(big), "big.jsonl")
    assert not complete and len(src.data) <= peek.HEAD_BYTES and src.data.endswith(b"\n")
    assert peek.detect(src, complete) == detect_format(Source(Path("x.jsonl"), big)) == "native"
    rows = b"[" + b",".join(b'{"question": "q%d", "ans1": "%s", "ans2": "b"}' % (i, b"x" * 100)
                            for i in range(20000)) + b"]"
    src, complete = peek.head(io.BytesIO(rows), "rows.json")
    assert not complete
    assert peek.columns(src, complete) == ["question", "ans1", "ans2"]
    with pytest.raises(ValueError, match="matches no format"):
        peek.detect(src, complete)


# ---- python -m comparator open ---------------------------------------------------------------

def test_open_a_missing_file_exits_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "comparator", "open", str(tmp_path / "no.jsonl")],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "no such file" in r.stderr


def test_open_on_every_interface_warns_that_there_is_no_sign_in(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    port = free_port()
    cmd = [sys.executable, "-m", "comparator", "open", str(LLMC_TINY), "--port", str(port),
           "--host", "0.0.0.0"]
    log = tmp_path / "open.log"
    with running(cmd, f"http://127.0.0.1:{port}/_stcore/health", log):
        out = log.read_text()
    assert "warning: --host 0.0.0.0 makes the dashboard reachable from other machines, " \
        "with no sign-in" in out, out
    assert out.index("warning") < out.index("comparator: open")  # before the server starts
    from comparator.cli.serve import exposure_warning

    assert exposure_warning("::", 1) and exposure_warning("192.168.1.5", 1)
    assert not any(exposure_warning(h, 1) for h in ("127.0.0.1", "::1", "localhost", "[::1]"))


def test_open_serves_a_file_from_any_folder(tmp_path, monkeypatch):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    file = elsewhere / LLMC_TINY.name
    shutil.copy(LLMC_TINY, file)
    monkeypatch.setenv("COMPARATOR_HOME", str(home))
    monkeypatch.delenv("COMPARATOR_DATA_DIRS", raising=False)
    port = free_port()
    cmd = [sys.executable, "-m", "comparator", "open", str(file), "--port", str(port)]
    log = tmp_path / "open.log"
    with running(cmd, f"http://127.0.0.1:{port}/_stcore/health", log):
        out = log.read_text()
    from urllib.parse import quote

    assert f"http://127.0.0.1:{port}/?path={quote(str(file), safe='')}" in out, out
    assert "warning" not in out  # this machine only: nothing to warn about

    # what that server's sessions see: the file's folder allowed beside the defaults
    from streamlit.testing.v1 import AppTest

    from comparator.cli.serve import server_env
    from comparator.schema.settings import APP_DATA, data_dir

    allowed = server_env(file)["COMPARATOR_DATA_DIRS"].split(os.pathsep)
    assert allowed == [str(data_dir()), str(APP_DATA), str(elsewhere)]
    monkeypatch.setenv("COMPARATOR_DATA_DIRS", os.pathsep.join(allowed))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["path"] = str(file)
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception and not at.error
    assert at.session_state[state.SOURCE] == ("path", str(file.resolve()))
    assert examples(at) == n_examples(LLMC_TINY)


# ---- issue 21: $COMPARATOR_HOME always allowed; refusals in the dashboard's words ------------

def test_data_dirs_add_to_comparator_home(tmp_path, monkeypatch):
    from comparator.schema.settings import APP_DATA, allowed_dirs, allowed_path, data_dir

    home, listed = tmp_path / "home", tmp_path / "listed"
    listed.mkdir()
    monkeypatch.setenv("COMPARATOR_HOME", str(home))
    run = data_dir() / "runs" / "judged.jsonl"  # where the Generate and Judge pages write
    run.parent.mkdir(parents=True)
    shutil.copy(DEMO, run)
    monkeypatch.delenv("COMPARATOR_DATA_DIRS", raising=False)
    assert allowed_dirs() == [home.resolve(), APP_DATA.resolve()]
    monkeypatch.setenv("COMPARATOR_DATA_DIRS", f"{listed}{os.pathsep}{home}")
    assert allowed_dirs() == [home.resolve(), listed.resolve()]  # once each, the home first
    assert allowed_path(run) == run.resolve()
    with pytest.raises(ValueError, match="not in a folder"):
        allowed_path(DEMO)  # the app's data/ only when no folders are listed


def test_a_failed_open_changes_nothing_and_a_battle_log_is_named(dirs, tmp_path):
    from test_leaderboard import _arena_battles

    from comparator.ui.wording import dashboard_words

    battles = dirs["allowed"] / "battles.jsonl"
    battles.write_text("".join(json.dumps(b) + "\n" for b in _arena_battles()))
    at = open_location(data_page(), str(dirs["allowed"] / LLMC_TINY.name))
    assert at.session_state[state.SOURCE][0] == "path"
    before = (at.session_state[state.SOURCE], examples(at))
    at = open_location(at, str(battles))
    (msg,) = errors(at)  # one message, naming the page that reads the file
    assert "Arena battle log" in msg and "open it on the Leaderboard page" in msg, msg
    assert not at.success
    assert (at.session_state[state.SOURCE], examples(at)) == before
    with pytest.raises(InputError) as e:  # the CLI names its command
        load(battles)
    assert "comparator leaderboard FILE" in str(e.value)
    assert "Leaderboard page" in dashboard_words(str(e.value))
    for flag in ("choose two with --pair A,B", "give --questions", "use --format table",
                 "name columns with --map NAME=COLUMN", "choose one with --model-a MODEL"):
        assert "--" not in dashboard_words(flag), dashboard_words(flag)


def test_a_file_that_breaks_after_it_was_opened_is_reported_once(dirs):
    path = dirs["allowed"] / "judged.jsonl"
    shutil.copy(DEMO, path)
    at = open_location(data_page(), str(path))
    assert not at.error, errors(at)
    path.write_text('{"prompt": "no longer a comparison"}\n')  # rewritten since
    at.switch_page("pages/overview.py").run()
    assert not at.exception, at.exception
    (msg,) = errors(at)  # the page asks for the open file twice: said once
    assert "judged.jsonl" in msg and msg.startswith("Could not open the comparison"), msg
    at.run()
    assert len(errors(at)) == 1  # and again on the next run
