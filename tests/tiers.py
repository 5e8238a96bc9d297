"""The tiers of the suite (issue 19), assigned in one place so that test modules carry no marker
boilerplate (see tests/README.md):

- ``browser``: the test drives Chromium (it reaches ``sync_playwright``), or its module is listed
  in ``BROWSER_MODULES``;
- ``slow``: it uses the tiny model (``tiny_model``, hence ``tiny_server``), or it is listed in
  ``SLOW_MODULES`` / ``SLOW_FIXTURES`` / ``SLOW_TESTS`` (measured: a few seconds or more);
- ``cli``: it runs Python in a subprocess (``run_cli``, ``sys.executable``): the CLI or a server;
- ``data``: it reads the real files of ``../shared/data`` (it reaches a name ``SHARED``); such a
  test is skipped, with the missing folder named, when the data is absent.

"Reaches" is read from the source, not guessed from names: a test reaches a name if its function
(decorators included), a fixture it uses, or a module-level helper or constant it refers to
(followed through ``from <test helper module> import ...``) names it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name in the source -> the marker a test that reaches it gets
ROOTS = {"SHARED": "data", "run_cli": "cli", "sys.executable": "cli",
         "sync_playwright": "browser", "tiny_model": "slow",
         "synthesise": "data"}  # bench.bench_io's: the real AlpacaEval texts, repeated

BROWSER_MODULES = {"test_browser", "test_browser_report", "test_e2e_browser", "test_finish_render",
                   "test_report_render", "test_cluster_colors", "test_click_selects",
                   "test_hostile_render", "test_jobs_browser", "test_open_session",
                   "test_rate_browser", "test_swap_browser", "test_filter_conjunctions_browser",
                   "test_findings_browser", "test_oidc_provider", "test_team_browser"}
SLOW_MODULES = {"test_golden", "test_findings_planted", "test_findings_themes", "test_ray",
                "test_spark"}
# module -> fixtures that cost a minute or more (an embedding + UMAP fit, 1 GB written, 100k
# examples): every test that uses one is slow, wherever that cost would land
SLOW_FIXTURES = {"test_clustering": {"alpaca_run"}, "test_hostile": {"gb_file"},
                 "test_sql": {"files"}}
# module -> tests (all their parameters together) measured at 10 s or more on the shared 2-core
# machine, i.e. about 3 s or more alone (tests/README.md: how to measure)
SLOW_TESTS = {
    "test_app": {"test_upload_each_real_file_then_every_page"},
    "test_bench_findings": {"test_bench_findings_table"},
    "test_benchmark_formats": {"test_arena_hard_edited_copy_strong_verdicts_nulls_and_interval",
                               "test_arena_hard_score_equals_its_result_scripts"},
    "test_cli": {"test_bad_inputs_name_file_line_and_field",
                 "test_stats_human_agreement_and_text_output", "test_stats_json_contract"},
    "test_clustering": {"test_cluster_cli_exports_llm_comparator_clusters",
                        "test_clusters_page_runs_and_filters_examples",
                        "test_discovered_categories_work_as_slices",
                        "test_hdbscan_keeps_outliers_visible"},
    "test_cluster_names": {"test_a_rationale_of_only_boilerplate_is_counted_not_clustered",
                           "test_a_clustering_run_names_a_and_b_in_its_themes"},
    "test_ct2": {"test_missing_path_and_unsupported_architecture_are_one_clear_line"},
    "test_data_safety": {"test_kill_9_while_clustering_then_rerun"},
    "test_demo_clusters": {"test_a_run_in_one_session_leaves_the_demo_unchanged_for_others"},
    "test_hostile": {"test_app_data_page_shows_a_message_and_keeps_the_open_comparison",
                     "test_cli_refuses_with_one_located_line",
                     "test_one_gb_of_binary_garbage_is_refused_from_its_first_bytes",
                     "test_utf16_csv_gives_the_same_stats_as_utf8_through_the_cli",
                     "test_value_too_deep_to_write_is_named_on_export_and_leaves_no_file"},
    "test_human_vote": {"test_cli_option_says_which_verdict"},
    "test_property_themes": {
        "test_a_clustering_run_embeds_properties_and_its_swap_gives_the_same_clusters",
        "test_the_llm_title_prompt_gets_role_texts"},
    "test_judgment_agreement": {"test_stats_json_carries_judgment_agreement"},
    "test_leaderboard": {"test_cli_json_and_text"},
    "test_length_control": {"test_stats_json_overall_and_per_slice"},
    "test_metrics": {"test_reference_metrics_equal_the_libraries",
                     "test_stats_by_metric_and_bad_regex_cli",
                     "test_user_metrics_count_and_bool_are_saved_with_the_comparison"},
    "test_metrics_page": {"test_chart_clicks_become_the_filters_that_keep_the_clicked_examples",
                          "test_metric_is_a_sidebar_slice_field",
                          "test_metrics_page_draws_on_every_demo",
                          "test_user_metric_bad_pattern_then_good_one_and_filters"},
    "test_ratings": {"test_report_has_the_people_vs_judge_section",
                     "test_stats_cli_with_ratings"},
    "test_reports": {"test_bad_filter_is_one_line_exit_2",
                     "test_every_csv_we_write_is_neutralised",
                     "test_filtered_report_equals_stats_on_the_filtered_file",
                     "test_html_and_markdown_escape_everything",
                     "test_no_report_contains_an_api_key", "test_provenance_and_examples",
                     "test_report_figures_equal_stats_json",
                     "test_report_page_shows_command_and_figures",
                     "test_same_file_same_spec_same_figures"},
    "test_search": {"test_meaning_finds_paraphrases"},
    "test_soft_win_rate": {"test_slices_and_cli_show_it"},
    "test_sql": {"test_real_files"},
    "test_store": {"test_parquet_round_trip_through_the_cli"},
    "test_swap": {"test_stats_of_the_swapped_file_equal_the_swapped_view"},
}


def _module_file(name: str) -> Path | None:
    """The file of an imported helper module of the tests (conftest, hostile.corpus, ...)."""
    mod = sys.modules.get(name)
    path = Path(getattr(mod, "__file__", None) or HERE / f"{name.replace('.', '/')}.py").resolve()
    return path if path.is_relative_to(HERE) and path.is_file() else None


def _names(node: ast.AST) -> set[str]:
    """The names a statement refers to: plain names and ``module.attribute``."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name):
            out.add(f"{n.value.id}.{n.attr}")
    return out


def _imported(node: ast.AST) -> dict[str, set[str]]:
    """The markers of names imported (anywhere inside ``node``) from the tests' own modules."""
    out: dict[str, set[str]] = {}
    for n in ast.walk(node):
        if isinstance(n, ast.ImportFrom) and n.module and (src := _module_file(n.module)):
            if src in _BUSY:  # an import cycle (conftest <-> test_browser): cut it here
                _CUTS.append(src)
            marks = {} if src in _BUSY else reached(src)
            for alias in n.names:
                out[alias.asname or alias.name] = marks.get(alias.name, set())
    return out


_DONE: dict[Path, dict[str, set[str]]] = {}
_BUSY: set[Path] = set()
_CUTS: list[Path] = []


def reached(path: Path) -> dict[str, set[str]]:
    """Each top-level name of a module -> the markers (``ROOTS`` values) it reaches. Kept for
    later only when complete: not cut short by an import cycle, or asked for first."""
    if path in _DONE:
        return _DONE[path]
    cuts = len(_CUTS)
    _BUSY.add(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defs: dict[str, set[str]] = {}  # top-level name -> names it refers to
    found = {name: {mark} for name, mark in ROOTS.items()}
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            targets = [stmt.name]
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = [n.id for t in getattr(stmt, "targets", [getattr(stmt, "target", None)])
                       for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(stmt, ast.ImportFrom):
            for name, marks in _imported(stmt).items():
                found[name] = found.get(name, set()) | marks
            continue
        else:
            continue
        for t in targets:
            defs.setdefault(t, set()).update(_names(stmt))
            for marks in _imported(stmt).values():  # imports inside a function
                found[t] = found.get(t, set()) | marks
    changed = True
    while changed:  # follow helpers and constants to a fixed point
        changed = False
        for name, refs in defs.items():
            marks = set().union(found.get(name, set()), *(found.get(r, set()) for r in refs))
            if marks != found.get(name, set()):
                found[name], changed = marks, True
    _BUSY.discard(path)
    if len(_CUTS) == cuts or not _BUSY:
        _DONE[path] = found
    return found


def markers(item) -> set[str]:
    """The tier markers of one collected test."""
    module = Path(item.module.__file__).resolve()
    own, shared = reached(module), reached(HERE / "conftest.py")
    marks = set(own.get(item.originalname, set()))
    for fixture in item.fixturenames:
        marks |= own.get(fixture) or shared.get(fixture) or set()
    if module.stem in BROWSER_MODULES:
        marks.add("browser")
    if (module.stem in SLOW_MODULES or item.originalname in SLOW_TESTS.get(module.stem, ())
            or SLOW_FIXTURES.get(module.stem, set()) & set(item.fixturenames)):
        marks.add("slow")
    return marks
