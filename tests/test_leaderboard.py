"""Bradley–Terry leaderboard: equals a direct maximum-likelihood fit (scipy.optimize) on real
MT-Bench, AlpacaEval and Arena-format data; battle log reader; CLI contract."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import LLMBAR, MT_JUDGMENTS, SHARED, read_json, read_jsonl, run_cli
from scipy.optimize import minimize

from comparator.analysis.leaderboard import combine, from_comparison, leaderboard
from comparator.formats import load
from comparator.formats.battles import read_battles

ALPACA = sorted((SHARED / "alpaca_eval").glob("*.annotations.json"))


def _direct_mle(rows: list[tuple[str, str, float]]) -> dict[str, float]:
    """Per-battle log-likelihood maximised by scipy (first model's strength fixed at 0),
    mapped to 400·log10 with mean 1000."""
    names = sorted({m for a, b, _ in rows for m in (a, b)})
    pos = {m: k for k, m in enumerate(names)}
    i = np.array([pos[a] for a, _, _ in rows])
    j = np.array([pos[b] for _, b, _ in rows])
    o = np.array([x for _, _, x in rows])

    def nll(free):
        th = np.concatenate([[0.0], free])
        d = th[i] - th[j]
        ll = o * -np.logaddexp(0, -d) + (1 - o) * -np.logaddexp(0, d)
        p = 1 / (1 + np.exp(-d))
        g = np.zeros(len(names))
        np.add.at(g, i, o - p)
        np.add.at(g, j, p - o)
        return -ll.sum(), -g[1:]

    res = minimize(nll, np.zeros(len(names) - 1), jac=True, method="BFGS",
                   options={"gtol": 1e-10, "maxiter": 10000})
    th = np.concatenate([[0.0], res.x])
    r = 400 / math.log(10) * (th - th.mean()) + 1000
    return dict(zip(names, r))


def _check(lb: dict, rows) -> None:
    want = _direct_mle(rows)
    got = {m["name"]: m["rating"] for m in lb["models"]}
    assert set(got) == set(want)
    for name in want:
        assert got[name] == pytest.approx(want[name], abs=1e-3), name
    assert np.mean(list(got.values())) == pytest.approx(1000)
    r = np.array([got[n] for n in lb["win_matrix"]["models"]])
    expect = 1 / (1 + 10 ** ((r[None, :] - r[:, None]) / 400))
    assert np.array(lb["win_matrix"]["matrix"]) == pytest.approx(expect)
    assert sum(m["n"] for m in lb["models"]) == 2 * len(rows)


def _arena_battles() -> list[dict]:
    """Real human votes: LLMBar's MT-Bench pairs (expert label) joined to the official MT-Bench
    answers, which name each side's model (see tests/test_arena.py)."""
    answers: dict[str, list[tuple[str, int]]] = {}
    for f in sorted((MT_JUDGMENTS.parents[1] / "model_answer").glob("*.jsonl")):
        for r in read_jsonl(f):
            answers.setdefault(r["choices"][0]["turns"][0], []).append((f.stem, r["question_id"]))
    out = []
    for r in read_json(LLMBAR):
        a, b = answers.get(r["output_1"]), answers.get(r["output_2"])
        # vicuna-13b-v1.3 has one vote here, a win: no finite maximum-likelihood rating
        if a and b and len(a) == len(b) == 1 and a[0][0] != b[0][0] and "vicuna" not in (
                a[0][0] + b[0][0]):
            out.append({"question_id": a[0][1], "model_a": a[0][0], "model_b": b[0][0],
                        "winner": "model_a" if r["label"] == 1 else "model_b"})
    return out


@pytest.fixture(scope="module")
def arena_file(tmp_path_factory):
    battles = _arena_battles()
    # one known non-battle row, to check it is left out with a warning
    path = tmp_path_factory.mktemp("arena") / "battles.jsonl"
    path.write_text("\n".join(json.dumps(b) for b in battles + [
        {"model_a": "gpt-4", "model_b": "claude-v1", "winner": "error"}]) + "\n")
    return path, battles


def test_arena_battles_equal_direct_mle(arena_file):
    path, battles = arena_file
    assert len(battles) > 100 and len({b["model_a"] for b in battles}) >= 5
    b, warnings = read_battles(path)
    assert len(b) == len(battles) and warnings and "1 rows" in warnings[0]
    lb = leaderboard(b, rounds=200)
    rows = [(x["model_a"], x["model_b"], 1.0 if x["winner"] == "model_a" else 0.0)
            for x in battles]
    _check(lb, rows)
    for m in lb["models"]:
        assert m["ci95"][0] < m["rating"] < m["ci95"][1]
    assert lb["connected"] and lb["mle_exists"]


def test_a_model_that_never_lost_is_flagged(arena_file):
    path, battles = arena_file
    b, _ = read_battles(path)
    from comparator.formats.battles import OUTCOME, Battles

    extra = Battles(["vicuna-13b-v1.3", "gpt-4"], np.array([0]), np.array([1]),
                    np.array([OUTCOME["model_a"]]))
    lb = leaderboard(combine([b, extra]), rounds=0)
    assert lb["connected"] and not lb["mle_exists"]
    assert lb["models"][0]["name"] == "vicuna-13b-v1.3"


def test_mt_bench_pair_judgments_equal_direct_mle_and_observed_rate():
    comp = load(MT_JUDGMENTS).comparison
    lb = leaderboard(from_comparison(comp), rounds=100)
    # independent: FastChat's own winners (both orders averaged, tie threshold 0.25)
    raw = read_jsonl(MT_JUDGMENTS)
    val = {"model_1": 1.0, "model_2": -1.0, "tie": 0.0}
    rows = []
    for r in raw:
        g = [val[w] for w in (r["g1_winner"], r["g2_winner"]) if w in val]
        if g:
            s = sum(g) / len(g)
            rows.append((r["model_1"], r["model_2"], 1.0 if s > 0.25 else 0.0 if s < -0.25 else .5))
    _check(lb, rows)
    # two models: BT's predicted win rate is the observed one (ties half)
    top = lb["win_matrix"]["models"][0]
    obs = np.mean([o if a == top else 1 - o for a, _, o in rows])
    assert lb["win_matrix"]["matrix"][0][1] == pytest.approx(obs, abs=1e-6)


def test_alpaca_eval_four_models_vs_baseline_equal_direct_mle():
    b = combine([from_comparison(load(p).comparison) for p in ALPACA])
    lb = leaderboard(b, rounds=200)
    rows = []
    for p in ALPACA:
        for r in read_json(p):
            pref = r["preference"]
            if pref is None or (isinstance(pref, float) and math.isnan(pref)):
                continue
            s = 0.0 if pref == 0 else 3 * (1.5 - pref)  # output_1's side, as the importer
            rows.append((r["generator_1"], r["generator_2"],
                         1.0 if s > 0.25 else 0.0 if s < -0.25 else 0.5))
    _check(lb, rows)
    # the verbose model outranks its concise self on this judge
    rank = [m["name"] for m in lb["models"]]
    assert rank.index("gpt-3.5-turbo-1106_verbose") < rank.index("gpt-3.5-turbo-1106_concise")


def test_bootstrap_is_seeded():
    b = combine([from_comparison(load(p).comparison) for p in ALPACA[:2]])
    assert leaderboard(b, 50, seed=3) == leaderboard(b, 50, seed=3)


def test_cli_json_and_text(arena_file):
    path, battles = arena_file
    out = run_cli("leaderboard", path, MT_JUDGMENTS, "--json", "--rounds", "50")
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert {"name", "rating", "ci95", "n"} <= set(s["models"][0])
    names = {m["name"] for m in s["models"]}
    assert {"phi-3", "phi-3-dpo", "gpt-4"} <= names
    assert not s["connected"]  # phi-3 models never met the MT-Bench-paper models
    assert len(s["win_matrix"]["matrix"]) == len(names)
    text = run_cli("leaderboard", path, "--rounds", "20")
    assert text.returncode == 0 and "Bradley–Terry" in text.stdout
    bad = run_cli("leaderboard", SHARED / "mt_bench/question.jsonl")
    assert bad.returncode == 2 and bad.stderr.startswith("error:")


def test_arena_hard_files_one_per_model_form_a_leaderboard(tmp_path):
    """Two Arena-Hard-Auto judgment files against the same baseline: the real gpt-4-0613 file
    and an EDITED copy (model renamed, every verdict mirrored) give one leaderboard equal to the
    direct fit of the per-prompt outcomes (mean of the two games in the model's orientation)."""
    from conftest import ROOT

    real = (ROOT / "tests/data/arena_hard/v0.1-question_id/data/arena-hard-v0.1/model_judgment"
            / "gpt-4-1106-preview/gpt-4-0613.jsonl")
    mirror = {"A>>B": "B>>A", "A>B": "B>A", "A=B": "A=B", "B>A": "A>B", "B>>A": "A>>B"}
    edited = tmp_path / "model-x.jsonl"
    with open(edited, "w") as f:
        for r in read_jsonl(real):
            r["model"] = "model-x"
            for g in r["games"]:
                g["score"] = mirror[g["score"]]
            f.write(json.dumps(r) + "\n")
    scale = {"A>>B": 1.5, "A>B": 0.5, "A=B": 0.0, "B>A": -0.5, "B>>A": -1.5}
    rows = []
    for path in (real, edited):
        for r in read_jsonl(path):
            g1, g2 = (scale[g["score"]] for g in r["games"])  # game 1 shows the baseline as A
            s = (-g1 + g2) / 2
            rows.append((r["model"], "gpt-4-0314", 1.0 if s > 0.25 else 0.0 if s < -0.25
                         else 0.5))
    out = run_cli("leaderboard", real, edited, "--json")
    assert out.returncode == 0, out.stderr
    lb = json.loads(out.stdout)
    _check(lb, rows)
    assert {m["name"] for m in lb["models"]} == {"gpt-4-0613", "model-x", "gpt-4-0314"}
