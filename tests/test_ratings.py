"""Human ratings: the ratings files (hostile names, 1 MB notes, concurrent writers, files of
another comparison), queues, and every People-vs-judge figure against an independent count
on the real AlpacaEval and MT-Bench files."""

from __future__ import annotations

import json
import multiprocessing
import re
from collections import Counter

import numpy as np
import orjson
import pytest
from conftest import ALPACA_COT, MT_JUDGMENTS, MT_QUESTIONS, read_jsonl, run_cli, winner

from comparator.analysis.people import (
    left_bias,
    people_by_slice,
    people_vs_judge,
    rater_agreement,
    win_rates,
)
from comparator.formats import InputError, LoadOptions, load
from comparator.ratings.queue import build_queue, shown_flipped
from comparator.ratings.store import (
    clean_rater,
    comparison_key,
    load_ratings,
    rating_side,
    ratings_path,
    read_ratings,
    save_rating,
    with_ratings,
)

CODE = {"A": 0, "tie": 1, "B": 2}


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def alpaca():
    return load(ALPACA_COT).comparison


def _judge_scores(ex, judge=None) -> list[float]:
    return [j["score"] for j in ex.get("judgments") or []
            if j.get("status", "ok") == "ok" and j.get("score") is not None
            and (judge is None or j.get("judge") == judge) and j.get("judge") != "human"]


def _rate(comp, rater: str, ids: list[str], seed: int, agree_with_judge: float = 0.7) -> None:
    """Ratings that follow the judge with probability ``agree_with_judge`` (seeded), else a
    random choice: realistic, partly agreeing raters."""
    rng = np.random.default_rng(seed)
    by_id = {ex["id"]: ex for ex in comp.examples}
    for i in ids:
        flipped = shown_flipped(rater, i)
        s = _judge_scores(by_id[i])
        if s and rng.random() < agree_with_judge:
            w = winner(sum(s) / len(s))
            left = {"A": 1, "tie": 2, "B": 3}[w] if not flipped else {"A": 3, "tie": 2, "B": 1}[w]
            choice = left + (rng.integers(0, 2) * (-1 if left == 1 else 1) if left != 2 else 0)
            choice = min(4, max(0, choice))
        else:
            choice = int(rng.integers(0, 5))
        save_rating(comp, rater, i, rating_side(choice, flipped), flipped, note=f"n{seed}",
                    seconds=float(rng.uniform(2, 30)))


def test_hostile_rater_names_stay_inside_the_data_dir(alpaca, home):
    key = comparison_key(alpaca)
    names = ["../../x", "<img src=x onerror=alert(1)>", "..", "/etc/passwd", "a/../../b",
             "x" * 500, "alice", "Alice", "ünïcødé 名前"]
    paths = set()
    for name in names:
        name = clean_rater(name)
        p = save_rating(alpaca, name, alpaca.examples[0]["id"], 1.0, False)
        assert p.resolve().parent == (home / "ratings" / key).resolve()
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}-[0-9a-f]{12}\.jsonl", p.name)
        paths.add(p)
        head, row = read_jsonl(p)
        assert head["rater"] == name and row["rater"] == name
    assert len(paths) == len(names)  # two raters never share a file (Alice != alice)
    assert not (home.parent / "x").exists() and not (home / "x").exists()
    for bad in ("", "   ", "\x00\n"):
        with pytest.raises(ValueError):
            clean_rater(bad)


def test_one_megabyte_note_last_line_stands_and_half_written_line(alpaca):
    ids = [ex["id"] for ex in alpaca.examples[:3]]
    note = "é" * 600_000  # 1.2 MB of UTF-8
    p = save_rating(alpaca, "bob", ids[0], 1.5, False, note=note)
    save_rating(alpaca, "bob", ids[1], None, True)  # skip
    save_rating(alpaca, "bob", ids[0], -1.0, True, note="changed")
    raw = p.read_bytes().split(b"\n")
    assert len(raw[1]) > 1_000_000 and orjson.loads(raw[1])["note"] == note
    got = read_ratings(p, comparison_key(alpaca))
    assert got[(ids[0], "bob")].score == -1.0 and got[(ids[0], "bob")].note == "changed"
    assert got[(ids[1], "bob")].skipped
    with open(p, "ab") as f:  # a writer killed mid-line
        f.write(b'{"id": "' + ids[2].encode() + b'", "judge": "hu')
    assert len(read_ratings(p)) == 2
    save_rating(alpaca, "bob", ids[2], 0.0, False)  # the next rating starts a new line
    got = read_ratings(p)
    assert len(got) == 3 and got[(ids[2], "bob")].score == 0.0
    with open(p, "ab") as f:  # ...but a bad rating is an error naming its line and field
        f.write(orjson.dumps({"id": ids[2], "rater": "bob", "score": 9, "flipped": 0,
                              "rated_at": "x"}) + b"\n")
    with pytest.raises(InputError, match=r":7: field 'score'"):
        read_ratings(p)


def _writer(args):
    import os

    home, rater, start = args
    os.environ["COMPARATOR_HOME"] = home
    comp = load(ALPACA_COT).comparison
    for k in range(start, start + 40):
        save_rating(comp, rater, comp.examples[k]["id"], 1.0, bool(k % 2),
                    note=str(k) * 30_000)


def test_concurrent_writers_never_interleave(alpaca, home):
    """Four processes append 100 KB lines to one rater's file (two tabs of one person) and to
    another rater's file at the same time: every line is whole."""
    ctx = multiprocessing.get_context("fork")
    jobs = [(str(home), "carol", 0), (str(home), "carol", 40), (str(home), "dan", 0),
            (str(home), "dan", 40)]
    with ctx.Pool(4) as pool:
        pool.map(_writer, jobs)
    for rater in ("carol", "dan"):
        lines = ratings_path(comparison_key(alpaca), rater).read_bytes().split(b"\n")
        rows = [orjson.loads(x) for x in lines[1:] if x]
        assert orjson.loads(lines[0])["kind"] == "comparator.ratings"
        assert len(rows) == 80 and {r["rater"] for r in rows} == {rater}
        assert all(r["note"] == r["note"][:len(r["note"]) // 30_000] * 30_000 for r in rows)


def test_ratings_of_another_comparison_are_refused(alpaca, home, tmp_path):
    mt = load(MT_JUDGMENTS, options=LoadOptions(questions=MT_QUESTIONS)).comparison
    p = save_rating(mt, "eve", mt.examples[0]["id"], 1.0, False)
    with pytest.raises(InputError, match="another comparison") as e:
        load_ratings([p], alpaca)
    assert e.value.line == 1
    out = run_cli("stats", ALPACA_COT, "--ratings", p)
    assert out.returncode == 2 and f"{p}:1: field 'comparison'" in out.stderr
    # without a header: the first unknown id names its line
    bare = tmp_path / "bare.jsonl"
    bare.write_bytes(b"\n".join(p.read_bytes().split(b"\n")[1:]))
    out = run_cli("stats", ALPACA_COT, "--ratings", bare)
    assert out.returncode == 2 and f"{bare}:1: field 'id'" in out.stderr
    assert "not in the comparison" in out.stderr


def test_with_ratings_copies_and_never_mutates(alpaca):
    before = orjson.dumps(alpaca.examples)
    ids = [ex["id"] for ex in alpaca.examples[:20]]
    _rate(alpaca, "fay", ids, 1)
    merged = with_ratings(alpaca, load_ratings([ratings_path(comparison_key(alpaca), "fay")],
                                               alpaca))
    assert orjson.dumps(alpaca.examples) == before and "human" not in alpaca.judges()
    assert "human" in merged.judges()
    humans = [j for ex in merged.examples for j in ex.get("judgments") or []
              if j.get("judge") == "human"]
    assert len(humans) == 20 and all(j["rater"] == "fay" and j["extra"]["note"] == "n1"
                                     for j in humans)
    assert comparison_key(merged) == comparison_key(alpaca)


def _hand(comp, ratings: dict[str, dict[str, float]], judge: str, t: float = 0.25):
    """Independent per-example labels: judge (mean of its ok scores), people (mean of the
    raters' scores), each rater."""
    out = []
    for ex in comp.examples:
        rs = [r[ex["id"]] for r in ratings.values() if ex["id"] in r]
        js = _judge_scores(ex, judge)
        if rs and js:
            out.append((ex, winner(sum(js) / len(js), t), winner(sum(rs) / len(rs), t)))
    return out


def test_people_vs_judge_against_independent_counts(alpaca):
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.proportion import proportion_confint

    ids = [alpaca.examples[i]["id"] for i in build_queue(alpaca, "sample", 120, seed=3)]
    _rate(alpaca, "r1", ids, 11)
    _rate(alpaca, "r2", ids[:90], 12, 0.5)
    key = comparison_key(alpaca)
    files = [ratings_path(key, r) for r in ("r1", "r2")]
    merged = with_ratings(alpaca, load_ratings(files, alpaca))
    ratings = {r: {x["id"]: x["score"] for x in read_jsonl(f)[1:]} for r, f in zip(("r1", "r2"),
                                                                                  files)}
    judge = next(j for j in alpaca.judges() if j != "human")
    rows = _hand(alpaca, ratings, judge)
    a = people_vs_judge(merged, judge)
    jl, hl = [r[1] for r in rows], [r[2] for r in rows]
    agree = sum(x == y for x, y in zip(jl, hl))
    assert a["n"] == len(rows) == 120 and a["agreement"] == pytest.approx(agree / len(rows))
    lo, hi = proportion_confint(agree, len(rows), method="wilson")
    assert a["agreement_ci95"] == pytest.approx([lo, hi])
    assert a["cohen_kappa"] == pytest.approx(cohen_kappa_score(jl, hl, labels=["A", "tie", "B"]))
    m = np.zeros((3, 3), int)
    for x, y in zip(jl, hl):
        m[CODE[x], CODE[y]] += 1
    # kappa's 95% interval: the Fleiss-Cohen-Everitt large-sample variance, written out
    pm = m / m.sum()
    pr, pc = pm.sum(1), pm.sum(0)
    po, pe = np.trace(pm), (pr * pc).sum()
    k = (po - pe) / (1 - pe)
    var = (sum(pm[i, i] * (1 - (pr[i] + pc[i]) * (1 - k)) ** 2 for i in range(3))
           + (1 - k) ** 2 * sum(pm[i, j] * (pc[i] + pr[j]) ** 2 for i in range(3)
                                for j in range(3) if i != j)
           - (k - pe * (1 - k)) ** 2) / (m.sum() * (1 - pe) ** 2)
    half = 1.959963984540054 * np.sqrt(var)
    assert a["cohen_kappa_ci95"] == pytest.approx([k - half, k + half], abs=1e-6)
    assert a["confusion"]["matrix"] == m.tolist()
    for i in range(3):
        for j in range(3):
            cell = a["confusion"]["row_shares"][i][j]
            if m[i].sum():
                assert cell["share"] == pytest.approx(m[i, j] / m[i].sum())
                assert cell["ci95"] == pytest.approx(list(proportion_confint(
                    m[i, j], m[i].sum(), method="wilson")))
    nt = [(x, y) for x, y in zip(jl, hl) if "tie" not in (x, y)]
    assert a["n_without_ties"] == len(nt)
    assert a["agreement_without_ties"] == pytest.approx(sum(x == y for x, y in nt) / len(nt))
    # judgment level: every judgment of the judge (unscored = disagree) vs the people
    jn = jok = 0
    for ex, _, h in rows:
        for j in ex["judgments"]:
            if j.get("judge") == judge:
                jn += 1
                jok += j.get("status", "ok") == "ok" and winner(j["score"]) == h
    assert a["judgment_n"] == jn and a["judgment_agreement"] == pytest.approx(jok / jn)
    # win rates on the same examples
    w = win_rates(merged, judge)
    for who, labels in (("human", hl), ("judge", jl)):
        c = Counter(labels)
        assert (w[who]["a_wins"], w[who]["ties"], w[who]["b_wins"]) == (c["A"], c["tie"], c["B"])
        assert w[who]["win_rate_a"] == pytest.approx((c["A"] + c["tie"] / 2) / len(labels))
    # per slice, the slices where people and judge part most first
    by = people_by_slice(merged, judge, "category")
    for r in by:
        sub = [(x, y) for (ex, x, y) in rows if ex.get("category") == r["value"]]
        assert r["n"] == len(sub)
        assert r["agreement"] == pytest.approx(sum(x == y for x, y in sub) / len(sub))
    assert [r["agreement"] for r in by] == sorted(r["agreement"] for r in by)
    # majority vote of the two raters: agree -> that label, else tie
    maj = people_vs_judge(merged, judge, human="human@majority")
    hand = []
    for ex, x, _ in rows:
        v = [winner(ratings[r][ex["id"]]) for r in ratings if ex["id"] in ratings[r]]
        c = Counter(v).most_common()
        hand.append((x, "tie" if len(c) > 1 and c[0][1] == c[1][1] else c[0][0]))
    assert maj["agreement"] == pytest.approx(sum(x == y for x, y in hand) / len(hand))


def test_rater_agreement_and_left_bias_against_independent_counts(alpaca):
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.proportion import proportion_confint

    ids = [alpaca.examples[i]["id"] for i in build_queue(alpaca, "sample", 60, seed=5)]
    for k, r in enumerate(("p", "q", "s")):
        _rate(alpaca, r, ids[: 60 - 10 * k], 20 + k, 0.6)
    key = comparison_key(alpaca)
    recs = {r: read_jsonl(ratings_path(key, r))[1:] for r in ("p", "q", "s")}
    lab = {r: {x["id"]: winner(x["score"]) for x in rows} for r, rows in recs.items()}
    two = with_ratings(alpaca, load_ratings([ratings_path(key, r) for r in ("p", "q")], alpaca))
    ra = rater_agreement(two)
    common = sorted(set(lab["p"]) & set(lab["q"]))
    assert ra["method"] == "cohen_kappa" and ra["n"] == len(common) == 50
    assert ra["cohen_kappa"] == pytest.approx(cohen_kappa_score(
        [lab["p"][i] for i in common], [lab["q"][i] for i in common]))
    three = with_ratings(alpaca, load_ratings([ratings_path(key, r) for r in lab], alpaca))
    ra3 = rater_agreement(three)
    common = sorted(set(lab["p"]) & set(lab["q"]) & set(lab["s"]))
    # Fleiss' kappa by its textbook formula
    counts = np.array([[sum(lab[r][i] == c for r in lab) for c in ("A", "tie", "B")]
                       for i in common], float)
    n_r = 3
    p_j = counts.sum(0) / counts.sum()
    p_i = ((counts ** 2).sum(1) - n_r) / (n_r * (n_r - 1))
    fleiss = (p_i.mean() - (p_j ** 2).sum()) / (1 - (p_j ** 2).sum())
    assert ra3["method"] == "fleiss_kappa" and ra3["n"] == len(common) == 40
    assert ra3["fleiss_kappa"] == pytest.approx(fleiss)
    for row in left_bias(three):
        rows = [x for x in recs[row["rater"]] if x["score"]]
        left = sum((x["score"] > 0) != x["flipped"] for x in rows)
        assert row["n"] == len(rows) and row["rate"] == pytest.approx(left / len(rows))
        assert row["ci95"] == pytest.approx(list(proportion_confint(left, len(rows),
                                                                    method="wilson")))


def test_queues_on_real_files(alpaca):
    a = build_queue(alpaca, "sample", 50, seed=7)
    assert len(a) == len(set(a.tolist())) == 50 and (a == build_queue(alpaca, "sample", 50,
                                                                      seed=7)).all()
    assert not (a == build_queue(alpaca, "sample", 50, seed=8)).all()
    s = build_queue(alpaca, "stratified", 30, seed=1, field="category")
    sizes = Counter(ex.get("category") for ex in alpaca.examples)
    got = Counter(alpaca.examples[i].get("category") for i in s)
    assert got == {c: min(30, n) for c, n in sizes.items()}
    mt = load(MT_JUDGMENTS, options=LoadOptions(questions=MT_QUESTIONS)).comparison
    d = set(build_queue(mt, "disagreements").tolist())
    hand = set()
    for i, ex in enumerate(mt.examples):
        by = {}
        for j in ex.get("judgments") or []:
            if j.get("status", "ok") == "ok" and j.get("flipped") is not None:
                by.setdefault(j["flipped"], []).append(j["score"])
        if len(by) == 2 and winner(np.mean(by[False])) != winner(np.mean(by[True])):
            hand.add(i)
    assert d == hand and hand
    flips = [shown_flipped("r", ex["id"]) for ex in alpaca.examples]
    assert 0.4 < np.mean(flips) < 0.6  # a fair coin per example


def test_stats_cli_with_ratings(alpaca):
    from sklearn.metrics import cohen_kappa_score

    ids = [alpaca.examples[i]["id"] for i in build_queue(alpaca, "sample", 40, seed=9)]
    _rate(alpaca, "u", ids, 31)
    _rate(alpaca, "v", ids, 32, 0.4)
    files = [ratings_path(comparison_key(alpaca), r) for r in ("u", "v")]
    out = run_cli("stats", ALPACA_COT, "--json", "--ratings", *files)
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    ratings = {r: {x["id"]: x["score"] for x in read_jsonl(f)[1:]} for r, f in zip("uv", files)}
    judge = next(j for j in alpaca.judges() if j != "human")
    rows = _hand(alpaca, ratings, judge)
    h = s["human_agreement"][judge]
    assert h["n"] == 40 and h["agreement"] == pytest.approx(
        sum(x == y for _, x, y in rows) / len(rows))
    ra = s["rater_agreement"]
    lu = [winner(ratings["u"][i]) for i in ids]
    lv = [winner(ratings["v"][i]) for i in ids]
    assert ra["method"] == "cohen_kappa" and ra["n"] == 40 and sorted(ra["raters"]) == ["u", "v"]
    assert ra["cohen_kappa"] == pytest.approx(cohen_kappa_score(lu, lv))
    assert s["n_rated"] == 40
    text = run_cli("stats", ALPACA_COT, "--ratings", *files)
    assert text.returncode == 0 and "cohen kappa" in text.stdout


def test_report_has_the_people_vs_judge_section(alpaca, tmp_path):
    ids = [alpaca.examples[i]["id"] for i in build_queue(alpaca, "sample", 30, seed=4)]
    _rate(alpaca, "u", ids, 41)
    _rate(alpaca, "v", ids, 42, 0.5)
    files = [ratings_path(comparison_key(alpaca), r) for r in ("u", "v")]
    out = run_cli("report", ALPACA_COT, "--ratings", *files, "-o", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    rep = json.loads((tmp_path / "r.json").read_text())
    stats = json.loads(run_cli("stats", ALPACA_COT, "--json", "--ratings", *files).stdout)
    for key in ("human_agreement", "rater_agreement", "left_bias", "n_rated", "win_rate_a"):
        assert rep["stats"][key] == stats[key], key
    ratings = {r: {x["id"]: x["score"] for x in read_jsonl(f)[1:]} for r, f in zip("uv", files)}
    judge = next(j for j in alpaca.judges() if j != "human")
    rows = _hand(alpaca, ratings, judge)
    people = rep["people"]["judges"][judge]
    assert people["n"] == 30 and people["agreement"] == pytest.approx(
        sum(x == y for _, x, y in rows) / len(rows))
    assert rep["provenance"]["ratings"] == [f.name for f in files]
    for ext in ("md", "html"):
        assert run_cli("report", ALPACA_COT, "--ratings", *files, "-o",
                       tmp_path / f"r.{ext}").returncode == 0
        text = (tmp_path / f"r.{ext}").read_text()
        assert "People vs judge" in text and f"{100 * people['agreement']:.1f}%" in text
