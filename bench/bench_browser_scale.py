"""The dashboard at scale in a real browser: ``python -m streamlit run app.py`` driven by
Playwright in Debian's Chromium, every figure timed end to end from the click or keystroke
until the page is idle.

A timed step arms a MutationObserver (mutations inside Streamlit's header, i.e. its "Running…"
status widget and the toolbar, are left out) and notes the time of the first pointerdown /
keydown event (the user's action). The step is over when (a) the expected new text is on the
page and not stale (e.g. the sidebar caption "5,000 of 100,000 examples · category =
topic-03"), (b) Streamlit's running icon is gone and no element is marked stale, and (c) the page
has had no DOM mutation for 100 ms. The figure is action → the last DOM mutation (the 100 ms of
quiet that proves it is the last are not counted); "text visible" (action → (a)) is printed
too. Each figure is the median of ``--repeats`` (5; 3 with ``--quick``) actions, min–max beside
it.

1. Data page, "Path or URL" + "Open" of an N-example native JSONL file (real AlpacaEval texts,
   20 categories, two judgments each; ``bench_scale.write_native_file``), until the page shows
   "Examples N": first open (the store cache emptied before each repeat) vs a bare orjson parse
   of the file's lines (same run); goal <= 5 s at 100k. Then another path with the same bytes
   (the store is keyed by SHA-256, so it hits the memory-mapped cache): goal <= 1 s.
2. Overview: a slice value change in the sidebar ("Slice by" category, "Slice value"
   topic-NN; goal <= 0.3 s) and a winner filter change (sidebar "Winner": add A, remove A;
   goal <= 0.3 s).
3. Examples: the sidebar's "Search prompt and responses" + Enter until the count changes, a
   word never searched before and a change back to a word searched before (goal <= 0.3 s
   each); switching Overview <-> Examples through the navigation links (goal <= 0.5 s).
4. Every interaction again on 1k examples in the same run and the same server: the baseline of
   the ratio.

``--profile`` serves the app through bench/streamlit_timed.py (the same Streamlit, a few
functions wrapped) and splits each step: action -> script run starts, the server's script run
(and the main functions inside it), run end -> last DOM mutation (the browser); with
``BENCH_CPROFILE=DIR`` every script run is also cProfiled. ``--quick``: 10k examples, 3
repeats; the open goals scaled with the size but not below 1 s / 0.5 s (the browser's fixed
costs are not scaled down), the interaction goals unchanged.

LLM Comparator's viewer cannot be built offline here, so it is not measured in this run. For
reference only (not measured here), its figures at 100k examples from the issue: slice click
0.54-0.71 s, search 0.24-0.28 s, open 12-25 s; ../shared/reference/README.md (the same 2-core
machine): whole page painted 25 s at 100k, a category click about 2.5 s at 50k-100k.

``--from FILE`` scales a real file's ``convert`` output instead (bench_real_shapes.scale_native,
or scale_llmc for an LLM Comparator document, ``.json``: unique ids and prompts);
``--opens-only`` times the opens alone.

    python bench/bench_browser_scale.py [--n 100000] [--quick] [--repeats 5] [--profile]
                                        [--from converted.jsonl] [--opens-only]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_real_shapes import scale_llmc, scale_native  # noqa: E402
from bench.bench_scale import orjson_parse, write_native_file  # noqa: E402
from bench.report import emit  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from conftest import free_port, running  # noqa: E402  (the test suite's server helpers)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
QUIET_MS = 100
SMALL = 1000

# Installed once per document: the observer, the user-action listener and the condition test.
INSTALL = """() => {
  if (window.__bench) return;
  const b = window.__bench = {armed: false, t0: null, seen: null, last: performance.now(),
                              want: []};
  const ignored = n => {
    const e = n && n.nodeType === 1 ? n : n && n.parentElement;
    return !!(e && e.closest('header, [data-testid=stHeader], [data-testid=stStatusWidget]'));
  };
  b.fresh = (sel, texts) => [...document.querySelectorAll(sel)].some(e => {
    const t = e.innerText || '';
    if (!texts.every(x => t.includes(x))) return false;
    const c = e.closest('[data-testid=stElementContainer]');
    return !c || c.getAttribute('data-stale') !== 'true';
  });
  b.check = () => b.want.every(([sel, texts]) => b.fresh(sel, texts));
  new MutationObserver(ms => {
    if (!ms.some(m => !ignored(m.target))) return;
    b.last = performance.now();
    if (b.armed && b.t0 !== null && b.seen === null && b.check()) b.seen = b.last;
  }).observe(document.documentElement, {subtree: true, childList: true, characterData: true,
                                         attributes: true});
  const act = () => { if (b.armed && b.t0 === null) b.t0 = b.last = performance.now(); };
  document.addEventListener('pointerdown', act, true);
  document.addEventListener('keydown', act, true);
}"""
ARM = """(want) => { Object.assign(window.__bench, {armed: true, t0: null, seen: null, want}); }"""
# idle: no script run, nothing stale, no mutation for `quiet` ms
IDLE = """(quiet) => !document.querySelector('[data-testid=stStatusWidgetRunningIcon]')
  && !document.querySelector('[data-stale=true]')
  && performance.now() - window.__bench.last >= quiet"""
DONE = """(quiet) => {
  const b = window.__bench;
  if (b.t0 === null) return false;
  if (b.seen === null && b.check()) b.seen = performance.now();
  return b.seen !== null && (""" + IDLE.split("=>", 1)[1] + """);
}"""
# Where the time goes: the app's websocket, wrapped before Streamlit opens it. ``sent``: the
# first message the browser sends after the action (the rerun request); ``first`` / ``done``:
# the first and the last message received from the server up to the last mutation.
WS_HOOK = """(() => {
  const log = window.__ws = {sent: [], recv: []};
  const Orig = window.WebSocket;
  class Hooked extends Orig {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', () => log.recv.push(performance.now()));
    }
    send(data) { log.sent.push(performance.now()); return super.send(data); }
  }
  window.WebSocket = Hooked;
})();"""
READ = """() => { const b = window.__bench, w = window.__ws; b.armed = false;
  const sent = w.sent.find(t => t >= b.t0), recv = w.recv.filter(t => t >= b.t0 && t <= b.last);
  const s = x => x === undefined ? null : (x - b.t0) / 1000;
  return {visible: (b.seen - b.t0) / 1000, idle: (b.last - b.t0) / 1000, sent: s(sent),
          first: s(recv[0]), done: s(recv[recv.length - 1]),
          t0_epoch: (performance.timeOrigin + b.t0) / 1000,
          last_epoch: (performance.timeOrigin + b.last) / 1000}; }"""

SIDEBAR_CAPTION = "[data-testid=stSidebar] [data-testid=stCaptionContainer]"


@contextmanager
def streamlit_server(home: Path, data: Path, log: Path, runs: Path | None = None):
    """``python -m streamlit run app.py`` on a free port (COMPARATOR_HOME, COMPARATOR_DATA_DIRS
    set); its URL once /_stcore/health answers. With ``runs``: bench/streamlit_timed.py
    instead of ``-m streamlit``, which logs every script run there."""
    port = free_port()
    launcher = ["-m", "streamlit"] if runs is None else [str(ROOT / "bench/streamlit_timed.py")]
    cmd = [sys.executable, *launcher, "run", str(ROOT / "app.py"), "--server.port",
           str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
    env = {"COMPARATOR_HOME": str(home), "COMPARATOR_DATA_DIRS": str(data)}
    if runs is not None:
        env["BENCH_RUN_LOG"] = str(runs)
    url = f"http://127.0.0.1:{port}"
    with running(cmd, url + "/_stcore/health", log, env):  # tests/conftest.py
        yield url


class Driver:
    """One Chromium page on the app; ``timed`` measures one user action."""

    def __init__(self, page, url: str):
        self.page, self.url = page, url
        page.add_init_script(WS_HOOK)
        page.goto(url)
        self.page.wait_for_selector("[data-testid=stSidebarNav]", timeout=120_000)
        self.idle()

    def idle(self, timeout_s: float = 300) -> None:
        """Until the page is idle (no run, nothing stale, 100 ms without a mutation)."""
        self.page.evaluate(INSTALL)
        self.page.wait_for_function(IDLE, arg=QUIET_MS, polling=25, timeout=timeout_s * 1000)

    def timed(self, action, want: list[tuple[str, list[str]]], timeout_s: float = 300
              ) -> dict:
        """Seconds from ``action()`` to the expected text (visible), to the last mutation
        (idle), to the rerun request sent, to the first and the last server message;
        ``want``: (CSS selector, [texts]) pairs, each an element holding every text, not
        stale."""
        self.page.evaluate(INSTALL)
        self.page.evaluate(ARM, want)
        action()
        self.page.wait_for_function(DONE, arg=QUIET_MS, polling=25, timeout=timeout_s * 1000)
        return self.page.evaluate(READ)

    # --- the app's widgets -------------------------------------------------------------
    def nav(self, name: str):
        return self.page.locator("[data-testid=stSidebarNav]").get_by_role(
            "link", name=name, exact=True)

    def go(self, name: str) -> None:
        self.nav(name).click()
        self.page.wait_for_timeout(50)
        self.idle()

    def sidebar_box(self, label: str):
        return self.page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").filter(
            has=self.page.get_by_label(label, exact=True))

    def open_file(self, path: Path, n: int) -> dict:
        """Data page: type the path, Enter (untimed), click Open (timed to "Examples n")."""
        self.go("Data")
        box = self.page.get_by_label("Path or URL", exact=True)
        box.fill(str(path))
        box.press("Enter")
        self.page.wait_for_timeout(50)
        self.idle()
        button = self.page.locator("[data-testid^=stBaseButton]").filter(  # not a selectbox's
            has_text=re.compile(r"^Open$"))  # "Open" toggle (Streamlit 1.67 labels it so)
        return self.timed(button.click, [
            ("[data-testid=stAlert]", [f"Opened {path}"]),
            ("[data-testid=stMetric]", ["Examples", f"{n:,}"])])

    def pick(self, label: str, option: str, want) -> dict:
        """Sidebar selectbox ``label``: open it (untimed), click ``option`` (timed)."""
        self.sidebar_box(label).click()
        opt = self.page.get_by_role("option", name=option, exact=True)
        opt.wait_for(timeout=30_000)
        return self.timed(opt.click, want)


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> str:
    return f"{min(xs):.3f}-{max(xs):.3f}"


def attach_runs(samples: list[dict], log: Path) -> None:
    """Each sample's server script runs (started between its action and its last mutation,
    from bench/streamlit_timed.py's log): ``to_run`` (action -> first run starts), ``run``
    (their total), ``after`` (last run ends -> last mutation: the browser), ``parts``."""
    runs = [orjson.loads(x) for x in log.read_bytes().splitlines() if x.strip()]
    for smp in samples:
        mine = [r for r in runs if smp["t0_epoch"] - 0.002 <= r["start"] <= smp["last_epoch"]]
        if not mine:
            continue
        smp["runs"] = len(mine)
        smp["to_run"] = mine[0]["start"] - smp["t0_epoch"]
        smp["run"] = sum(r["end"] - r["start"] for r in mine)
        smp["after"] = smp["last_epoch"] - max(r["end"] for r in mine)
        parts: dict[str, float] = {}
        for r in mine:
            for k, v in r["parts"].items():
                parts[k] = parts.get(k, 0.0) + v
        smp["parts"] = parts


def interactions(d: Driver, n: int, repeats: int, words: list[str]) -> dict[str, list]:
    """Every timed interaction on the open file: {name: [(visible, idle), ...]}."""
    out: dict[str, list] = {k: [] for k in (
        "slice, first", "slice", "winner", "search, new word", "search, repeated",
        "switch to Examples", "switch to Overview")}
    total = f"{n:,} examples"
    d.go("Overview")
    d.page.wait_for_selector("text=Win rate by slice", timeout=120_000)
    d.pick("Slice by", "category", [("[data-testid=stSidebar] [data-testid=stSelectbox]",
                                     ["Slice value"])])
    values = [f"topic-{k:02d}" for k in range(0, 20, 3)]
    for k in range(repeats + 1):
        v = values[k % len(values)]
        r = d.pick("Slice value", v, [(SIDEBAR_CAPTION, [f"of {total} · category = {v}"])])
        out["slice, first" if k == 0 else "slice"].append(r)
    d.pick("Slice value", "(all)", [(SIDEBAR_CAPTION, [f"{total} · all examples"])])
    winner = d.page.locator("[data-testid=stSidebar] [data-testid=stMultiSelect]")
    for _ in range(repeats):
        winner.click()
        opt = d.page.get_by_role("option", name="A", exact=True)
        opt.wait_for(timeout=30_000)
        out["winner"].append(d.timed(opt.click, [(SIDEBAR_CAPTION, [f"of {total} · winner in A"])]))
        d.page.keyboard.press("Escape")
        d.idle()
        remove = winner.get_by_role("button", name="Remove A")
        out["winner"].append(d.timed(remove.click, [(SIDEBAR_CAPTION,
                                                     [f"{n:,} of {total} · all examples"])]))
    for _ in range(repeats):
        out["switch to Examples"].append(d.timed(d.nav("Examples").click, [
            ("h1", ["Examples"]), ("[data-testid=stMain] [data-testid=stCaptionContainer]",
                                   [f"{n:,} of {n:,}"])]))
        out["switch to Overview"].append(d.timed(d.nav("Overview").click, [
            ("h3", ["Win rate by slice"]), ("h3", ["Score distribution"])]))
    d.go("Examples")
    field = d.page.get_by_label("Search prompt and responses", exact=True)

    def search(word: str):
        field.fill(word)
        return d.timed(lambda: field.press("Enter"), [(SIDEBAR_CAPTION, [f"text '{word}'"])])

    for w in words[:repeats]:
        out["search, new word"].append(search(w))
    for k in range(repeats):
        out["search, repeated"].append(search(words[k % 2]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="10k examples, 3 repeats")
    ap.add_argument("--profile", action="store_true",
                    help="serve through bench/streamlit_timed.py: time each script run and "
                         "the page's main functions (where the time goes)")
    ap.add_argument("--workdir", help="keep the generated files here (reused when present)")
    ap.add_argument("--from", dest="source", metavar="FILE",
                    help="scale this native JSONL or LLM Comparator JSON (.json; a convert "
                         "output of a real file) to N examples with unique ids and prompts, "
                         "instead of the synthetic rows")
    ap.add_argument("--opens-only", action="store_true", help="time the opens only")
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeats = 10_000, 3
    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    words = ["python", "recipe", "poem", "history", "ocean", "guitar", "planet", "coffee"]
    n, R = args.n, args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = Path(args.workdir) if args.workdir else tmp / "data"
        data.mkdir(parents=True, exist_ok=True)
        home = tmp / "home"
        files = {}
        ext = ".json" if args.source and args.source.endswith(".json") else ".jsonl"
        for size in (SMALL, n):
            f = data / f"native_{size}.jsonl"
            if args.source:
                f = data / f"{Path(args.source).stem}_{size}{ext}"
            if not f.exists():
                t = time.perf_counter()
                if args.source:
                    (scale_llmc if ext == ".json" else scale_native)(Path(args.source), size, f)
                else:
                    write_native_file(size, f)
                print(f"wrote {f.name}: {f.stat().st_size / 1e6:,.0f} MB in "
                      f"{time.perf_counter() - t:.1f} s", flush=True)
            files[size] = f
        links = data / "links"  # other paths, same bytes: a miss in Streamlit's cache only
        shutil.rmtree(links, ignore_errors=True)
        links.mkdir()

        def alias(size: int, tag: str) -> Path:
            p = links / f"{tag}_{size}{ext}"
            os.link(files[size], p)
            return p

        base = med([orjson_parse(files[n]) for _ in range(3)])
        mb = files[n].stat().st_size / 1e6
        opens: dict[tuple[int, str], list] = {}
        runs = tmp / "runs.jsonl" if args.profile else None
        with (streamlit_server(home, data, tmp / "st.log", runs) as url,
              sync_playwright() as pw):
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            d = Driver(page, url)
            for r in range(R):
                shutil.rmtree(home / "store", ignore_errors=True)  # each repeat a first open
                for size in (SMALL, n):  # alternating: the "Examples" count always changes
                    opens.setdefault((size, "first"), []).append(
                        d.open_file(alias(size, f"first{r}"), size))
                for size in (SMALL, n):
                    opens.setdefault((size, "cached"), []).append(
                        d.open_file(alias(size, f"cached{r}"), size))
            big, small = {}, {}
            if not args.opens_only:
                big = interactions(d, n, R, words)
                d.open_file(alias(SMALL, "again"), SMALL)
                small = interactions(d, SMALL, R, words)
            browser.close()
        shutil.rmtree(links, ignore_errors=True)
        steps = {**{f"open, {kind}": (opens[(SMALL, kind)], opens[(n, kind)])
                    for kind in ("first", "cached")},
                 **{k: (small[k], big[k]) for k in big}}
        if runs is not None:
            for a, b in steps.values():
                attach_runs(a + b, runs)

    print(f"\nChromium end to end, median of {R} (min-max), seconds; idle = action -> last DOM "
          f"mutation before {QUIET_MS} ms of quiet; visible = action -> expected text")
    big_k = f"{n // 1000}k"
    print(f"{'step':<24} {'1k idle':>8} {'1k visible':>10} {big_k + ' idle':>9} "
          f"{big_k + ' visible':>11}  {big_k + ' idle min-max':>16}")
    for name, (a, b) in steps.items():
        print(f"{name:<24} {med([x['idle'] for x in a]):>8.3f} "
              f"{med([x['visible'] for x in a]):>10.3f} {med([x['idle'] for x in b]):>9.3f} "
              f"{med([x['visible'] for x in b]):>11.3f}  {spread([x['idle'] for x in b]):>16}")
    print(f"baseline: orjson parse of the {n:,}-example file ({mb:,.0f} MB): {base:.3f} s")
    if runs is not None:
        profile(steps, big_k)

    scale = n / 100_000
    g_first, g_cached = 5 * max(scale, 0.2), max(scale, 0.5)  # browser costs kept
    idle = {k: med([x["idle"] for x in v]) for k, v in opens.items()}
    kind = "LLM Comparator JSON" if ext == ".json" else "native JSONL"
    emit(f"browser: first open via Path or URL until 'Examples {n:,}', {kind} "
         f"({mb:,.0f} MB) (vs orjson parse)", idle[(n, "first")], base, "s",
         f"<= {g_first:g} s", idle[(n, "first")] <= g_first)
    emit(f"browser: open of a copy already in the cache, {n:,} examples (vs orjson parse)",
         idle[(n, "cached")], base, "s", f"<= {g_cached:g} s", idle[(n, "cached")] <= g_cached)
    goals = {"slice": 0.3, "winner": 0.3, "search, new word": 0.3, "search, repeated": 0.3,
             "switch to Examples": 0.5, "switch to Overview": 0.5}
    label = {"slice": "Overview: slice value change", "winner": "Overview: winner filter change",
             "search, new word": "Examples: search, a new word + Enter",
             "search, repeated": "Examples: search, back to a word searched before",
             "switch to Examples": "page switch Overview -> Examples",
             "switch to Overview": "page switch Examples -> Overview"}
    for k, goal in goals.items():
        if k not in big:
            continue
        ours, base_k = med([x["idle"] for x in big[k]]), med([x["idle"] for x in small[k]])
        emit(f"browser: {label[k]}, {n:,} examples (vs 1k)", ours, base_k, "s",
             f"<= {goal:g} s", ours <= goal)


def profile(steps: dict, big_k: str) -> None:
    """Where the time goes, per step and size (medians): action -> the script run starts
    (browser event, websocket), the server's script run(s), last run ends -> last mutation
    (browser rendering), and the wrapped functions that cost most inside the runs."""
    print("\nWhere the time goes (median seconds): to run = action -> script run starts; run = "
          "server script run(s); after = run ends -> last DOM mutation (browser)")
    print(f"{'step':<24} {'size':>5} {'idle':>6} {'to run':>7} {'run':>6} {'after':>6} {'runs':>4}"
          "  top functions inside the run (inclusive)")
    for name, pair in steps.items():
        for size, samples in zip(("1k", big_k), pair):
            ok = [x for x in samples if "run" in x]
            if not ok:
                print(f"{name:<24} {size:>5} (no script run seen)")
                continue
            keys = {k for x in ok for k in x["parts"]}
            parts = sorted(((med([x["parts"].get(k, 0.0) for x in ok]), k) for k in keys),
                           reverse=True)
            top = ", ".join(f"{k} {v:.3f}" for v, k in parts[:6] if v >= 0.002)
            print(f"{name:<24} {size:>5} {med([x['idle'] for x in ok]):>6.3f} "
                  f"{med([x['to_run'] for x in ok]):>7.3f} {med([x['run'] for x in ok]):>6.3f} "
                  f"{med([x['after'] for x in ok]):>6.3f} {med([x['runs'] for x in ok]):>4g}  "
                  f"{top}")


if __name__ == "__main__":
    main()
