"""Issue 20, classes 4-6, tried as an attacker would: outputs all or nothing and never over what
they must not replace (two real `convert` processes racing on one output, a user's own OUT.tmp,
`report IN -o IN`, a device or FIFO as the output, a real full filesystem), downloads from a
misbehaving local HTTP server (a body shorter than its Content-Length, a byte a second past the
deadline, a download killed half-way), and a fake OpenAI-compatible server on 127.0.0.1 that
echoes the API key and the base URL's password back in every recoverable form."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ALPACA_COT, ALPACA_WEIGHTED, LLMC_TINY, MT_JUDGMENTS, ROOT

from comparator.formats import load, save

PART = re.compile(r"\.part$")


def leftovers(folder: Path) -> list[str]:
    """Temporary files of the writer left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if PART.search(p.name))


def cli(*args, preexec=None, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "comparator", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=preexec, env={**os.environ, **(env or {})})


# -- class 4: outputs ------------------------------------------------------------------------


def test_two_concurrent_converts_to_one_output_leave_one_whole_file(tmp_path):
    """Two real processes convert one real file (AlpacaEval's weighted annotations: fractional
    scores) to one CSV output at the same moment, with tie thresholds that change the winner
    column, four times: each run succeeds, and the output is byte for byte one of the two whole
    exports, never a mix. (The old writers shared OUT.tmp: one run failed with "out.csv.tmp: No
    such file or directory", or both wrote into one temporary file.)"""
    comp = load(ALPACA_WEIGHTED).comparison
    refs = {}
    for t in ("0.05", "1.0"):
        save(comp, tmp_path / f"ref-{t}.csv", tie_threshold=float(t))
        refs[t] = (tmp_path / f"ref-{t}.csv").read_bytes()
    assert refs["0.05"] != refs["1.0"]
    out = tmp_path / "out.csv"
    for _ in range(4):
        procs = [subprocess.Popen([sys.executable, "-m", "comparator", "convert",
                                   str(ALPACA_WEIGHTED), "--tie-threshold", t, "-o", str(out)],
                                  cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for t in refs]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        assert out.read_bytes() in refs.values()
        assert leftovers(tmp_path) == []


def test_an_existing_out_tmp_of_the_user_survives(tmp_path):
    """The old writers used OUT.tmp as their temporary file (and removed it on errors)."""
    comp = load(LLMC_TINY).comparison
    for name in ("out.jsonl", "out.json", "out.csv", "out.parquet"):
        mine = tmp_path / f"{name}.tmp"
        mine.write_text(f"the user's own notes for {name}\n")
        r = cli("convert", LLMC_TINY, "-o", tmp_path / name)
        assert r.returncode == 0, r.stderr
        assert mine.read_text() == f"the user's own notes for {name}\n"
        assert (tmp_path / name).stat().st_size > 0
    save(comp, tmp_path / "again.json")  # in-process too, and after a refused write
    (tmp_path / "again.json.tmp").write_text("keep me")
    with pytest.raises(ValueError, match="is an input of this command"):
        save(comp, tmp_path / "again.json", inputs=[tmp_path / "again.json"])
    assert (tmp_path / "again.json.tmp").read_text() == "keep me"
    assert leftovers(tmp_path) == []


def test_an_error_half_way_keeps_the_previous_output(tmp_path):
    """The 3rd example of a real file cannot be written (nested deeper than JSON writers go):
    each export fails after writing the first examples, and the previous output stays."""
    from comparator.schema.errors import InputError

    comp = load(LLMC_TINY).comparison
    for name in ("out.jsonl", "out.json", "out.csv"):
        save(comp, tmp_path / name)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    deep: list = []
    for _ in range(300):
        deep = [deep]
    comp.examples[2]["metadata"] = {"deep": deep}
    for name in before:
        with pytest.raises(InputError, match=f"^{re.escape(str(tmp_path / name))}: "):
            save(comp, tmp_path / name)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_report_or_convert_onto_its_own_input_is_refused(tmp_path):
    src = tmp_path / "judged.json"  # a real LLM Comparator file: .json is also a report format
    shutil.copy(LLMC_TINY, src)
    before = src.read_bytes()
    link = tmp_path / "link.json"
    link.symlink_to(src)
    for args in (("report", src, "-o", src), ("report", src, "-o", link),
                 ("convert", link, "-o", src, "--to", "llm-comparator")):
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        line, = r.stderr.strip().splitlines()
        assert line.startswith(f"error: {args[3]}: is an input of this command"), line
        assert "choose another output" in line
        assert src.read_bytes() == before and link.is_symlink()
    assert leftovers(tmp_path) == []


def test_a_device_a_fifo_or_a_folder_as_output_is_refused(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    for target, kind in (("/dev/null", "a character device"), (fifo, "a named pipe (FIFO)"),
                         (folder, "a folder")):
        t0 = time.monotonic()
        r = cli("convert", LLMC_TINY, "--to", "csv", "-o", target, timeout=60)
        assert r.returncode == 2, r.stderr
        line, = r.stderr.strip().splitlines()
        assert line == (f"error: {target}: is {kind}, not a regular file, and is not replaced; "
                        "choose a file path for the output"), line
        assert time.monotonic() - t0 < 30  # a FIFO is not opened (that would hang)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and folder.is_dir()


@contextmanager
def small_filesystem(tmp_path: Path, mount: bool = True):
    """A real 256 KiB tmpfs (we are root here) -> (folder, None); where mounting is not allowed,
    an ordinary folder and a file-size limit of 256 KiB for the child (RLIMIT_FSIZE, SIGXFSZ
    ignored: a write past it fails with EFBIG) -> (folder, preexec)."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = mount and shutil.which("mount") is not None and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
        capture_output=True).returncode == 0
    try:
        yield folder, None if mounted else _fsize_limit
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)


def _fsize_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, 256 << 10))


def test_a_report_that_does_not_fit_keeps_the_previous_one(tmp_path):
    """A previous report (one example, 10 KB), then the full one (75 examples, ~440 KB) to the
    same file on a real 256 KiB filesystem (or, where mounting one is not allowed, under a
    256 KiB file-size limit): the previous report stays byte for byte, the message names the
    file and says what to do, no temporary file is left."""
    from comparator.reports.build import ViewSpec, build
    from comparator.reports.export import write_report

    with small_filesystem(tmp_path) as (folder, preexec):
        out = folder / "report.csv"
        write_report(build(load(MT_JUDGMENTS), ViewSpec(filters=["index=0"])), out)
        before = out.read_bytes()
        assert 0 < len(before) < 64 << 10
        r = cli("report", MT_JUDGMENTS, "-o", out, preexec=preexec)
        assert r.returncode == 2, r.stderr
        line = r.stderr.strip().splitlines()[-1]
        why = "the disk is full" if preexec is None else \
            "the file is larger than this system allows"
        assert line == (f"error: {out}: cannot be written ({why}); nothing was changed (a "
                        "previous file there is kept as it was): free some space or choose "
                        "another output file"), line
        assert out.read_bytes() == before
        assert leftovers(folder) == []


def test_an_export_past_the_file_size_limit_keeps_the_previous_one(tmp_path):
    """The same under RLIMIT_FSIZE (SIGXFSZ ignored, so the write fails with EFBIG): a 3 MB
    CSV export over a small previous one."""
    with small_filesystem(tmp_path, mount=False) as (folder, preexec):
        out = folder / "out.csv"
        save(load(LLMC_TINY).comparison, out)
        before = out.read_bytes()
        r = cli("convert", ALPACA_COT, "-o", out, preexec=preexec)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip().splitlines()[-1].startswith(
            f"error: {out}: cannot be written (the file is larger than this system allows)")
        assert out.read_bytes() == before and leftovers(folder) == []


# -- class 5: downloads ----------------------------------------------------------------------

BODY = (ROOT / "data" / "mt_bench_phi-3_vs_phi-3-dpo.jsonl").read_bytes()


class _Misbehaving(BaseHTTPRequestHandler):
    """/short: half the body it announces; /trickle: a byte a second; /slowhead: the status
    line a byte a second; /stall: half the body, then nothing; /good: the whole file."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        try:
            self._answer()
        except OSError:  # the client gave up: expected for the slow ones
            pass

    def _answer(self):
        if self.path.endswith("/slowhead"):
            for b in b"HTTP/1.1 200 OK\r\n":
                self.wfile.write(bytes([b]))
                self.wfile.flush()
                time.sleep(1)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        if self.path.endswith("/good"):
            self.wfile.write(BODY)
        elif self.path.endswith("/short"):
            self.wfile.write(BODY[:len(BODY) // 2])
            self.close_connection = True
        elif self.path.endswith("/trickle"):
            for b in BODY[:30]:
                self.wfile.write(bytes([b]))
                self.wfile.flush()
                time.sleep(1)
        elif self.path.endswith("/stall"):
            self.wfile.write(BODY[:len(BODY) // 2])
            self.wfile.flush()
            time.sleep(30)


@pytest.fixture()
def server(tmp_path, monkeypatch):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}/data"
    home = tmp_path / "home"
    monkeypatch.setenv("COMPARATOR_HOME", str(home))
    monkeypatch.setenv("COMPARATOR_URL_PREFIXES", base + "/")
    yield base, home / "downloads"
    srv.shutdown()
    srv.server_close()


def test_a_body_shorter_than_its_content_length_is_refused(server):
    from comparator.formats.fetch import download, download_path

    base, downloads = server
    with pytest.raises(ValueError) as e:
        download(f"{base}/short")
    half = len(BODY) // 2
    assert str(e.value).startswith(f"{base}/short: the server sent {half:,} of the "
                                   f"{len(BODY):,} bytes its Content-Length announced")
    assert not download_path(f"{base}/short").exists() and leftovers(downloads) == []
    assert download(f"{base}/good").read_bytes() == BODY  # the same server, a whole body
    with pytest.raises(ValueError) as e:  # a URL with user info (which urllib does not use):
        download(base.replace("//", f"//{USER}:{PASSWORD}@") + "/short")  # named without it
    assert str(e.value).startswith(f"{base}/short: ") and PASSWORD not in str(e.value) \
        and USER not in str(e.value)


@pytest.mark.parametrize("path", ["trickle", "slowhead"])
def test_a_server_sending_a_byte_a_second_meets_the_deadline(server, monkeypatch, path):
    from comparator.formats.fetch import download, download_path

    base, downloads = server
    monkeypatch.setenv("COMPARATOR_URL_SECONDS", "2")
    t0 = time.monotonic()
    with pytest.raises(ValueError) as e:
        download(f"{base}/{path}")
    took = time.monotonic() - t0
    assert 1.5 < took < 6, took  # the whole download's deadline, not a per-read time-out
    assert str(e.value) == (f"{base}/{path}: the download took longer than 2 s "
                            "(COMPARATOR_URL_SECONDS); nothing was saved: try again, or raise "
                            "COMPARATOR_URL_SECONDS")
    assert not download_path(f"{base}/{path}").exists()
    assert not downloads.exists() or leftovers(downloads) == []


def test_a_killed_download_leaves_no_partial_file(server):
    """kill -9 half-way: no file under the download's name; the next download sweeps the dead
    process's temporary file away."""
    from comparator.formats.fetch import download, download_path

    base, downloads = server
    code = f"from comparator.formats.fetch import download; download({base + '/stall'!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while not (downloads.is_dir() and leftovers(downloads)
                   and any(p.stat().st_size for p in downloads.iterdir())):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert len(leftovers(downloads)) == 1  # the dead process's half, under a temporary name
    assert not download_path(f"{base}/stall").exists()
    assert download(f"{base}/good").read_bytes() == BODY
    assert leftovers(downloads) == []


# -- class 6: secrets ------------------------------------------------------------------------

KEY = "sk-proj-7Hq2Zx9Lm4Rt8Vb1Nc6Kd3"
USER, PASSWORD = "deploy", "Pw-0rch1d-Tango-5521"


def forms(secret: str) -> dict[str, str]:
    """The ways a careless server echoes a secret back."""
    raw = secret.encode()
    out = {"literal": secret, "upper": secret.upper(), "lower": secret.lower(),
           "json-escaped": "".join(f"\\u{ord(c):04x}" for c in secret),
           "json-escaped-some": "".join(f"\\u{ord(c):04X}" if i % 3 == 0 else c
                                        for i, c in enumerate(secret)),
           "percent": "".join(f"%{b:02X}" for b in raw),
           "percent-twice": urllib.parse.quote(urllib.parse.quote(secret, safe=""), safe=""),
           "spaced": " ".join(secret), "dotted": ".".join(secret.upper()),
           "zero-width": "\u200b".join(secret), "html": "".join(f"&#{ord(c)};" for c in secret),
           "hex": raw.hex()}
    for pad in range(3):
        out[f"base64-{pad}"] = base64.b64encode(b"Bearer "[:pad + 4] + raw + b"!").decode()
        out[f"base64url-{pad}"] = base64.urlsafe_b64encode(b"\xfb\xff"[:pad] + raw).decode()
    return out


KEY_FORMS, PASSWORD_FORMS = forms(KEY), forms(PASSWORD)


def recoverable(text: str, secret: str) -> list[str]:
    """How ``secret`` can be read back from ``text`` (independent of the product's redaction:
    decode everything, then look): an empty list when it cannot."""
    want = re.sub(r"[^a-z0-9]", "", secret.lower())
    found = []
    views = {"as written": text}
    views["json"] = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)
    unq = text
    for _ in range(3):
        unq = urllib.parse.unquote(unq)
    views["percent"] = unq
    views["html"] = html.unescape(text)
    for name, view in views.items():
        if want in re.sub(r"[^a-z0-9]", "", view.lower()):
            found.append(name)
    for run in re.findall(r"[A-Za-z0-9+/_=-]{12,}", text):
        for start in range(4):
            part = run[start:].replace("-", "+").replace("_", "/").rstrip("=")
            for cut in range(4):
                chunk = part[:len(part) - cut]
                try:
                    dec = base64.b64decode(chunk + "=" * (-len(chunk) % 4))
                except ValueError:
                    continue
                if secret.encode() in dec:
                    found.append("base64")
        for start in range(2):
            try:
                if secret.encode() in bytes.fromhex(run[start:len(run) - (len(run) - start) % 2]):
                    found.append("hex")
            except ValueError:
                pass
    return found


@pytest.mark.parametrize("password", ["p@ss:w0rd", "pa/ss#w?rd", "plain-Secret-9"])
def test_user_info_is_stripped_from_urls_however_odd_the_password(password):
    from comparator.schema.redact import public_url, redact

    for url in (f"http://{USER}:{password}@127.0.0.1:8000/v1",
                f"https://{USER}:{urllib.parse.quote(password, safe='')}@api.example/v1?x=1"):
        shown = public_url(url)
        assert shown.endswith(("127.0.0.1:8000/v1", "api.example/v1?x=1")), shown
        said = redact(f"connecting to '{url}' failed")
        assert password not in said and USER not in said and "/v1" in said, said
    assert public_url("https://api.example/v1?user=a@b.example") == \
        "https://api.example/v1?user=a@b.example"  # an '@' in a query is no user info


def test_the_recoverable_check_finds_every_form():
    """The test's own detector is not blind: it finds each form in a sentence."""
    for secret, fs in ((KEY, KEY_FORMS), (PASSWORD, PASSWORD_FORMS)):
        for name, form in fs.items():
            assert recoverable(f"error: bad credentials {form} given", secret), name


class FakeOpenAIEchoingSecrets(BaseHTTPRequestHandler):
    """A FAKE OpenAI-compatible server (a test double, not a model): every chat completion is
    refused with 400 and an error body that echoes the API key, or the base URL's password, in
    the form the prompt names ("key:base64-1", "password:spaced" ...)."""

    protocol_version = "HTTP/1.1"
    seen: list[dict] = []

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        self.seen.append({"auth": self.headers.get("Authorization"), "path": self.path})
        what, form = body["messages"][-1]["content"].split(":", 1)
        echoed = (KEY_FORMS if what == "key" else PASSWORD_FORMS)[form]
        msg = f"Incorrect API key provided: {echoed}. Your {what} was received as {echoed}"
        if form.startswith("json"):  # raw JSON text, its escapes as the server wrote them
            data = ('{"error": {"message": "' + msg.replace('"', '\\"')
                    + '", "type": "invalid_request_error"}}').encode()
        else:
            data = json.dumps({"error": {"message": msg, "type": "invalid_request_error",
                                         "code": "invalid_api_key"}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_a_server_echoing_the_key_and_password_in_any_form_leaks_neither(tmp_path):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAIEchoingSecrets)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    FakeOpenAIEchoingSecrets.seen = []
    plain = f"http://127.0.0.1:{srv.server_address[1]}/v1"
    base = plain.replace("//", f"//{USER}:{PASSWORD}@")  # A's URL; B's is plain (Bearer key)
    prompts = tmp_path / "prompts.jsonl"
    items = [f"key:{f}" for f in KEY_FORMS] + [f"password:{f}" for f in PASSWORD_FORMS]
    prompts.write_text("".join(json.dumps({"id": f"p{i}", "prompt": p}) + "\n"
                               for i, p in enumerate(items)))
    out = tmp_path / "gen.jsonl"
    try:
        r = cli("generate", "--prompts", prompts, "--model-a", "openai/fake-echo",
                "--base-url-a", base, "--api-key-a", KEY, "--model-b", "openai/fake-echo-b",
                "--base-url-b", plain, "--api-key-b", KEY, "--max-tries", "1",
                "--concurrency", "4", "-o", out, env={"COMPARATOR_HOME": str(tmp_path / "h")})
    finally:
        srv.shutdown()
        srv.server_close()
    assert r.returncode == 3, r.stderr  # every call failed, as the fake server wants
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert {s["auth"] for s in FakeOpenAIEchoingSecrets.seen} == {basic, f"Bearer {KEY}"}
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    header, examples = rows[0], rows[1:]
    assert len(examples) == len(items)
    errors = [ex["metadata"][f"{s}_error"] for ex in examples for s in "ab"]
    assert all("400" in e and "***" in e for e in errors), errors  # the server's words, redacted
    assert header["metadata"]["generation"]["a"]["base_urls"] == [plain]
    logs = r.stdout + r.stderr
    everything = {"output": out.read_text(), "logs": logs,
                  "header": json.dumps(header, ensure_ascii=False)}
    for where, text in everything.items():
        for secret in (KEY, PASSWORD, f"{USER}:{PASSWORD}"):
            assert recoverable(text, secret) == [], (where, secret)
    assert f"{USER}:" not in everything["header"] and "@127.0.0.1" not in everything["output"]
