"""The summary of a comparison that ``stats --json``, reports and pages share: ``StatsResult``,
built by ``stats_result``. ``StatsResult.to_json()`` is the object ``stats --json`` prints (the
same keys, in the same order, as the ``dict`` it replaces)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from comparator.analysis import agreement, slice_table, summary
from comparator.analysis.agreement import agreement_by_slice, raters
from comparator.analysis.benchmarks import benchmark_figures
from comparator.analysis.human_vote import fleiss, human_selector
from comparator.analysis.length_control import lc_by_slice, lc_win_rate
from comparator.analysis.people import left_bias, rated_mask, rater_agreement, verdict_text
from comparator.analysis.reliability import reliability
from comparator.analysis.significance import mark
from comparator.analysis.stats import judges_by_default
from comparator.formats import Loaded
from comparator.schema.errors import InputError
from comparator.schema.jsonsafe import clean
from comparator.schema.records import Comparison

Interval = list[float] | None  # a 95% interval [low, high], None when there is no estimate
INLINE = {"json": "inline"}  # a field whose keys sit at the top level of the JSON form
OPTIONAL = {"json": "optional"}  # a field left out of the JSON form when it is None


@dataclass
class SliceRow:
    """One value of a ``--by`` field: its counts, win rate and whether it differs from the
    rest of the data (two-sample test, Benjamini–Hochberg adjusted)."""

    field: str
    value: str
    n: int
    a_wins: int
    b_wins: int
    ties: int
    unscored: int
    win_rate_a: float | None
    win_rate_a_ci95: Interval
    small_n: bool
    mean_score: float | None
    mean_score_ci95: Interval
    win_rate_a_soft: float | None
    win_rate_a_soft_ci95: Interval
    ci_excludes_half: bool
    p_value: float | None
    p_adjusted: float | None
    significant: bool
    win_rate_a_lc: float | None
    win_rate_a_lc_ci95: Interval
    lc_length_coef: float | None


@dataclass
class RaterSummary:
    """With ``--ratings``: how people's ratings agree and how the human verdict is made."""

    rater_agreement: dict[str, Any] | None
    left_bias: list[dict[str, Any]]
    human_verdict: str
    n_rated: int


@dataclass
class StatsResult:
    """Every figure of ``stats``: the headline, the slices, the judge's reliability, the
    benchmark figures that apply (``figures``), agreement with people."""

    model_a: str
    model_b: str
    format: str
    n: int
    a_wins: int
    b_wins: int
    ties: int
    unscored: int
    win_rate_a: float | None
    win_rate_a_ci95: Interval
    mean_score: float | None
    mean_score_ci95: Interval
    win_rate_a_soft: float | None
    win_rate_a_soft_ci95: Interval
    scores_continuous: bool
    significant: bool
    small_n: bool
    position_consistency: float | None
    position_consistency_n: int
    tie_threshold: float
    ci_method: str
    judges: list[str]
    score_judges: list[str]
    human_vote: str
    win_rate_a_lc: float | None
    win_rate_a_lc_ci95: Interval
    lc_length_coef: float | None
    slices: list[SliceRow]
    first_position_preference: dict[str, Any]
    length_preference: dict[str, Any]
    self_agreement: dict[str, Any]
    tie_rate: dict[str, Any]
    # arena_hard_score, single_scores, reference_accuracy: those that apply to the file
    figures: dict[str, Any] = field(default_factory=dict, metadata=INLINE)
    annotators: dict[str, Any] | None = field(default=None, metadata=OPTIONAL)  # Fleiss' kappa
    human_agreement: dict[str, Any] | None = None
    raters: RaterSummary | None = field(default=None, metadata={"json": "inline-optional"})

    def to_json(self) -> dict[str, Any]:
        """The object ``stats --json`` prints (and a report's ``stats``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value, how = getattr(self, f.name), f.metadata.get("json")
            if value is None and how in ("optional", "inline-optional"):
                continue
            if how == "inline":
                out.update(value)
            elif how == "inline-optional":
                out.update(asdict(value))
            elif f.name == "slices":
                out[f.name] = [asdict(r) for r in value]
            else:
                out[f.name] = value
        return out


def rater_summary(loaded: Loaded, tie_threshold: float, vote: str = "mean") -> RaterSummary:
    """``rater_agreement``, ``left_bias`` and how the human verdict is made (``--ratings``)."""
    comp = loaded.comparison
    return RaterSummary(**clean({
        "rater_agreement": rater_agreement(comp, tie_threshold),
        "left_bias": left_bias(comp, tie_threshold),
        "human_verdict": verdict_text(human_selector(vote)),
        "n_rated": int(rated_mask(comp).sum())}))


def judge_selection(comp: Comparison, judge: str | None, human_vote: str = "mean"
                    ) -> frozenset[str] | None:
    """The judges that score the examples for ``--judge NAMES`` (comma-separated; the file's
    default when None), humans by ``human_vote`` (mean or majority of annotators)."""
    return select_judges(comp.judges(), judge, human_vote, comp.metadata.get("reference_judge"))


def select_judges(names: list[str], judge: str | None, human_vote: str = "mean",
                  reference_judge: str | None = None) -> frozenset[str] | None:
    """``judge_selection`` of a file whose judges are ``names`` (the SQL engines' too)."""
    judges = frozenset(judge.split(",")) if judge else judges_by_default(names, reference_judge)
    if judge and not any(j in names or j.split(":")[0] in names for j in judges):
        raise ValueError(f"--judge {judge!r}: the file's judges are {names}")
    human = human_selector(human_vote)  # the human verdict: mean or majority of annotators
    if judges == frozenset(["human"]) or (judges is None and names == ["human"]):
        judges = frozenset([human])
    return judges


def stats_result(loaded: Loaded, by: list[str], tie_threshold: float, ci_method: str,
                 judge: str | None, human_vote: str = "mean", rated: bool = False
                 ) -> StatsResult:
    """The summary of ``loaded``; ``rated``: its human judgments are people's ratings
    (comparator.ratings.merge), and the result carries their agreement (``raters``)."""
    comp = loaded.comparison
    names = comp.judges()
    judges = judge_selection(comp, judge, human_vote)
    head = {
        "model_a": comp.model_a, "model_b": comp.model_b, "format": loaded.format,
        **summary(comp, tie_threshold, judges, ci_method), "tie_threshold": tie_threshold,
        "ci_method": ci_method, "judges": names,
        "score_judges": sorted(judges) if judges else names, "human_vote": human_vote,
        **lc_win_rate(comp, tie_threshold, judges)}
    slices = []
    for field_ in by:
        try:
            rows = slice_table(comp, field_, tie_threshold, judges, ci_method)
        except KeyError as e:
            raise InputError(loaded.path, e.args[0], field=field_) from None
        lc = lc_by_slice(comp, field_, tie_threshold, judges)
        slices += [{**r, **lc[r["value"]]} for r in rows]
    if len(by) > 1:  # Benjamini–Hochberg over all the slices shown
        mark(slices)
    return StatsResult(
        **clean(head), slices=[SliceRow(**clean(r)) for r in slices],
        **clean(reliability(comp, tie_threshold, judges)),
        figures=clean(benchmark_figures(comp, tie_threshold)),
        annotators=clean(fleiss(comp, "human", tie_threshold)) if len(raters(comp)) > 1
        else None,
        human_agreement=clean(_human_agreement(comp, by, human_selector(human_vote),
                                                        tie_threshold)),
        raters=rater_summary(loaded, tie_threshold, human_vote) if rated else None)


def _human_agreement(comp: Comparison, by: list[str], human: str, tie_threshold: float
                     ) -> dict[str, Any] | None:
    """Each judge against the human verdict (overall and by slice), when the file has both."""
    others = [n for n in comp.judges() if n != "human"]
    if "human" not in comp.judges() or not others:
        return None
    return {n: {**agreement(comp, n, human, tie_threshold), "slices": [
        row for f in by for row in agreement_by_slice(comp, n, human, f, tie_threshold)]}
        for n in others}
