"""Swap A and B (issue 21): one swap of a comparison (``comparator.schema.swap``) that the
dashboard applies to the open comparison and ``convert --swap`` writes. On every real format:
swap(swap(x)) == x exactly; responses, scores, flipped flags, labels and per-side fields follow
the swap while the order the judge saw stays a property of the judgment; the figures of the
swapped file (``stats --json``) equal the swapped view's (the Overview's ``summary``)."""

from __future__ import annotations

import json

import pytest
from conftest import ALL_JUDGED, ROOT, SHARED, run_cli, without_nulls

from comparator.analysis import summary
from comparator.analysis.benchmarks import arena_hard_score, single_scores
from comparator.analysis.reliability import first_position_preference
from comparator.analysis.result import stats_result
from comparator.formats import Loaded, load
from comparator.schema.labels import label_to_score, swap_ab
from comparator.schema.swap import mirror_label, swap
from comparator.store.cache import open_store
from comparator.ui import state

AH = ROOT / "tests" / "data" / "arena_hard"
AH_JUDGED = "data/arena-hard-v0.1/model_judgment/gpt-4-1106-preview/gpt-4-0613.jsonl"
ARENA = [AH / "v0.1-question_id" / AH_JUDGED, AH / "v2.0-uid" / AH_JUDGED,
         AH / "gpt-4-0613.v2.0-games.jsonl"]
SINGLE_PARTS = sorted((ROOT / "tests" / "data" / "mt_bench_single").glob("*.jsonl"))
JUDGEBENCH = SHARED / "judgebench" / "sample_20_pairs.o1-mini_on_gpt-4o.jsonl"
DEMOS = list(state.demos().values())
REAL = [*DEMOS, *ALL_JUDGED, JUDGEBENCH, *ARENA]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """Two models' MT-Bench single grades in one file (the format needs both)."""
    both = tmp_path_factory.mktemp("single") / "gpt-4_single.jsonl"
    both.write_bytes(b"".join(p.read_bytes() for p in SINGLE_PARTS))
    return both


def _files(single):
    return [*REAL, single]


def _ids(p):
    return p.name


# ---- labels ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("label", "mirrored"), [
    ("[[A]]", "[[B]]"), ("[[B]]", "[[A]]"), ("[[C]]", "[[C]]"), ("[[A>>B]]", "[[B>>A]]"),
    ("[[B>A]]", "[[A>B]]"), ("A>B", "B>A"), ("A=B", "A=B"), ("B>>A", "A>>B"), ("A", "B"),
    ("b", "a"), ("tie", "tie"), ("A is slightly better", "B is slightly better"),
    ("B is much better", "A is much better"), ("same", "same"), ("Output (a)", "Output (b)"),
    ("model_a", "model_b"), ("model_2", "model_1"), ("1", "2"), ("2", "1"), ("0", "0"),
    ("1.5", "1.5"), ("1.0000031381", "1.9999968619"), ("1.25", "1.75"), (" 1 ", " 2 "),
    ("1.10", "1.90"), ("2.5", "2.5"), ("8 vs 6", "6 vs 8"),
    ("10 vs -1", "-1 vs 10"), ("m", "m"), ("M", "M"), ("error", "error"),
    ("Answer: A and B", "Answer: A and B"),  # not a verdict: left as written
])
def test_mirror_label(label, mirrored):
    assert mirror_label(label) == mirrored
    assert mirror_label(mirrored) == label
    s = label_to_score(label)
    if s is not None and label != mirrored:
        assert label_to_score(mirrored) == -s


# ---- the swap of every real format ------------------------------------------------------------

def _loaded(path):
    return load(path)


def test_round_trip_is_exact_on_every_real_format(single):
    for path in _files(single):
        comp = _loaded(path).comparison
        once = swap(comp)
        assert (once.model_a, once.model_b) == (comp.model_b, comp.model_a), path
        assert once.model_dump() != comp.model_dump(), path
        assert swap(once).model_dump() == comp.model_dump(), path


def test_columnar_and_dict_comparisons_swap_alike():
    for path in [*DEMOS, JUDGEBENCH, ARENA[0]]:
        columnar = open_store(path).comparison  # (an explicit null reads back as no key)
        assert without_nulls(swap(columnar).model_dump()) == without_nulls(
            swap(_loaded(path).comparison).model_dump()), path


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _relations(comp) -> set[str]:
    """How the labels of judgments shown B first relate to their scores: "position" (written
    about the order the judge saw) or "model" (already in A/B)."""
    out = set()
    for ex in comp.examples:
        for j in ex.get("judgments") or ():
            ls, s = label_to_score(j.get("label")), j.get("score")
            if j.get("flipped") is True and ls and s:
                if _sign(-ls) == _sign(s) != _sign(ls):
                    out.add("position")
                elif _sign(ls) == _sign(s) != _sign(-ls):
                    out.add("model")
    return out


def test_every_field_follows_the_swap(single):
    for path in _files(single):
        comp = _loaded(path).comparison
        once = swap(comp)
        assert once.metadata == comp.metadata and once.source_format == comp.source_format
        for ex, sw in zip(comp.examples, once.examples, strict=True):
            assert (sw["response_a"], sw["response_b"]) == (ex["response_b"], ex["response_a"])
            for k in ("id", "prompt", "messages", "reference", "category", "tags"):
                assert sw.get(k) == ex.get(k), (path, k)
            if ex.get("reported_score") is not None:
                assert sw["reported_score"] == -ex["reported_score"]
            for j, w in zip(ex.get("judgments") or (), sw.get("judgments") or (), strict=True):
                assert w.get("status", "ok") == j.get("status", "ok")
                assert (w.get("score") is None) == (j.get("score") is None)
                if j.get("score") is not None:
                    assert w["score"] == -j["score"]
                # the order shown is the judgment's: the same response was shown first
                assert w.get("flipped") == (None if j.get("flipped") is None
                                            else not j["flipped"])
                if j.get("flipped") is None and label_to_score(j.get("label")):
                    assert label_to_score(w["label"]) == -label_to_score(j["label"])
                for k in ("judge", "rater", "template_id", "raw"):
                    assert w.get(k) == j.get(k)
            for r, q in zip(ex.get("reasons") or (), sw.get("reasons") or (), strict=True):
                assert q.get("favours") == {"A": "B", "B": "A"}.get(r.get("favours"))
                # a reason is in the file's A/B: the A and B it names turn over with it
                assert q["text"] == swap_ab(r["text"]) and q.get("cluster") == r.get("cluster")
                if "Model A" in r["text"] and "Model B" not in r["text"]:
                    assert "Model B" in q["text"] and "Model A" not in q["text"]
        # the labels keep their relation to the scores (position or A/B), whatever it is
        assert _relations(once) <= _relations(comp) | ({"position"} if not _relations(comp)
                                                        else set()), path


def test_position_bias_is_a_property_of_the_judgment():
    for path in [DEMOS[1], DEMOS[2], ALL_JUDGED[0], JUDGEBENCH]:
        comp = _loaded(path).comparison
        once = swap(comp)
        assert first_position_preference(once) == first_position_preference(comp), path
        assert summary(once)["position_consistency"] == summary(comp)["position_consistency"]


def test_per_side_fields_and_benchmark_figures(single):
    comp = _loaded(single).comparison
    once = swap(comp)
    for ex, sw in zip(comp.examples, once.examples, strict=True):
        assert (sw["metadata"]["grade_a"], sw["metadata"]["grade_b"]) == (
            ex["metadata"]["grade_b"], ex["metadata"]["grade_a"])
        j, w = ex["judgments"][0], sw["judgments"][0]
        assert (w["extra"]["grade_a"], w["extra"]["grade_b"]) == (
            j["extra"]["grade_b"], j["extra"]["grade_a"])
        assert sw["metadata"]["question_id"] == ex["metadata"]["question_id"]
    assert single_scores(once) == single_scores(comp)
    # AlpacaEval: which output the judge called "m" / "M" follows the responses
    alp = _loaded(ALL_JUDGED[1]).comparison
    for ex, sw in zip(alp.examples, swap(alp).examples, strict=True):
        refs = ex["judgments"][0]["extra"].get("referenced_models")
        if refs:
            other = {"output_1": "output_2", "output_2": "output_1"}
            assert sw["judgments"][0]["extra"]["referenced_models"] == {
                k: other[v] for k, v in refs.items()}
    # stored per-side metrics (a_<name> / b_<name>) swap with their responses
    ex = {"id": "x", "prompt": "p", "response_a": "aa", "response_b": "b",
          "metadata": {"a_perplexity": 3.0, "b_perplexity": 9.0, "lang": "en"}}
    sw = swap(comp.subset([ex])).examples[0]
    assert sw["metadata"] == {"a_perplexity": 9.0, "b_perplexity": 3.0, "lang": "en"}


def test_arena_hard_score_names_the_model_against_its_baseline():
    for path in ARENA:
        comp = _loaded(path).comparison
        before, after = arena_hard_score(comp), arena_hard_score(swap(comp))
        assert after == before, path
        assert after["model"] == comp.model_a and after["baseline"] == comp.model_b


# ---- the swapped file's stats are the swapped view's ----------------------------------------

def _view_figures(path):
    """The figures the dashboard shows with the swap on: the Overview's ``summary`` of the
    comparison the dashboard's hook makes (``state.oriented``) from the opened file."""
    loaded = open_store(path)
    view = state.swap_view(loaded)
    return view, summary(view.comparison)


def _stats_json(path, *args):
    r = run_cli("stats", path, "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("path", [*DEMOS, ALL_JUDGED[2], JUDGEBENCH, ARENA[1]], ids=_ids)
def test_stats_of_the_swapped_file_equal_the_swapped_view(path, tmp_path):
    out = tmp_path / "swapped.jsonl"
    r = run_cli("convert", path, "-o", out, "--swap")
    assert r.returncode == 0, r.stderr
    got = _stats_json(out)
    view, figures = _view_figures(path)
    for k, v in figures.items():
        assert got[k] == v, (path, k)
    want = stats_result(Loaded(view.comparison, got["format"], [], out), [], 0.25,
                        got["ci_method"], None).to_json()
    assert got == want
    orig = stats_result(load(path), [], 0.25, got["ci_method"], None).to_json()
    assert (got["model_a"], got["model_b"]) == (orig["model_b"], orig["model_a"])
    assert (got["a_wins"], got["ties"], got["b_wins"]) == (orig["b_wins"], orig["ties"],
                                                           orig["a_wins"])
    assert got["win_rate_a"] == pytest.approx(1 - orig["win_rate_a"], abs=1e-12)
    for k in ("arena_hard_score", "single_scores", "reference_accuracy"):
        assert got.get(k) == orig.get(k)


def test_swapping_the_swapped_file_gives_the_original_back(tmp_path):
    path = DEMOS[0]
    once, twice = tmp_path / "once.jsonl", tmp_path / "twice.jsonl"
    assert run_cli("convert", path, "-o", once, "--swap").returncode == 0
    assert run_cli("convert", once, "-o", twice, "--swap").returncode == 0
    assert load(twice).comparison.model_dump() == load(path).comparison.model_dump()


# ---- the dashboard ------------------------------------------------------------------------

def test_overview_with_the_swap_shows_the_swapped_figures():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["swap"] = "1"
    at.run()
    assert not at.exception, at.exception
    _, s = _view_figures(DEMOS[0])
    metric = {m.label: m.value for m in at.metric}
    assert metric["Win rate of A"] == f"{100 * s['win_rate_a']:.1f}%"
    assert metric["A / tie / B"] == f"{s['a_wins']} / {s['ties']} / {s['b_wins']}"
    assert at.session_state[state.SWAP] is True
    comp = load(DEMOS[0]).comparison
    assert at.title[0].value.replace("\\", "") == f"{comp.model_b} vs {comp.model_a}"
    at.checkbox(key=state.SWAP).uncheck().run()
    orig = summary(comp)
    metric = {m.label: m.value for m in at.metric}
    assert metric["Win rate of A"] == f"{100 * orig['win_rate_a']:.1f}%"
    assert at.session_state[state.SWAP] is False  # (the URL: tests/test_swap_browser.py)


def test_report_page_command_and_cli_report_of_the_swapped_view(tmp_path, monkeypatch):
    """The Report page of a swapped view names ``--swap`` in its command line, and that
    command's report holds the figures of the view the page shows."""
    from streamlit.testing.v1 import AppTest

    from comparator.reports.build import ViewSpec, build

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state[state.SWAP] = True  # (the control and the link: test_swap_browser.py)
    at.switch_page("pages/report.py").run()
    assert not at.exception, at.exception
    headline = f"{100 * _view_figures(DEMOS[0])[1]['win_rate_a']:.1f}%"
    assert [m.value for m in at.metric][0] == headline
    command = next(c.value for c in at.code if "python -m comparator report" in c.value)
    assert " --swap " in command
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    out = tmp_path / "report.json"
    r = run_cli("report", DEMOS[0], "--swap", "--examples", "3", "-o", out)
    assert r.returncode == 0, r.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    view = state.swap_view(open_store(DEMOS[0]))
    want = build(view, ViewSpec(examples=3, swap=True)).data
    assert got["stats"] == json.loads(json.dumps(want["stats"]))
    assert got["provenance"]["swapped"] is True and "--swap" in got["provenance"]["command"]
    assert [e["id"] for e in got["examples"]] == [e["id"] for e in want["examples"]]
    assert got["stats"]["model_a"] == load(DEMOS[0]).comparison.model_b


# ---- people's ratings follow the swap ------------------------------------------------------

def test_ratings_are_the_files_and_read_from_either_side(tmp_path):
    from comparator.ratings.store import (
        comparison_key,
        ratings_path,
        read_ratings,
        save_rating,
        saved_ratings,
        with_ratings,
    )

    comp = load(DEMOS[2]).comparison
    once = swap(comp)
    assert comparison_key(once) == comparison_key(comp)
    assert comparison_key(swap(once)) == comparison_key(comp)
    ids = [ex["id"] for ex in comp.examples[:2]]
    # rated in the swapped view: the (new) A was better, shown on the right
    path = save_rating(once, "ann", ids[0], -1.0 * -1, True, root=tmp_path)
    save_rating(comp, "bob", ids[1], 0.5 * 2, False, root=tmp_path)  # in the file's view
    assert path == ratings_path(comparison_key(comp), "ann", tmp_path)
    head, line = [json.loads(x) for x in path.read_text().splitlines()]
    assert (head["model_a"], head["model_b"]) == (comp.model_a, comp.model_b)
    assert (line["score"], line["flipped"]) == (-1.0, False)  # the file's B, on the right
    mine = read_ratings(path, comparison_key(once), swapped=True)[(ids[0], "ann")]
    assert (mine.score, mine.flipped) == (1.0, True)
    plain = {r.rater: r for r in saved_ratings(comp, tmp_path)}
    turned = {r.rater: r for r in saved_ratings(once, tmp_path)}
    for rater in ("ann", "bob"):
        assert turned[rater].score == -plain[rater].score
        assert turned[rater].flipped is not plain[rater].flipped
    a = with_ratings(comp, list(plain.values()), only_rated=True)
    b = with_ratings(once, list(turned.values()), only_rated=True)
    assert swap(a).model_dump() == b.model_dump()
