"""``comparator cluster``: rationale clusters or discovered prompt categories."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from comparator.cli.options import exclusive, format_option, seed_option
from comparator.clustering import ClusterConfig, cluster_prompts, cluster_rationales
from comparator.engines import make_backend
from comparator.engines.secrets import api_key, base_urls
from comparator.formats import load, save


@click.command(short_help="cluster the judges' reasons (or the prompts)")
@click.argument("input", type=click.Path(path_type=Path))
@click.option("--what", type=click.Choice(["rationales", "prompts"]), default="rationales",
              show_default=True, help="cluster the judges' reasons or the prompts")
@click.option("--k", type=int, help="KMeans with K clusters (default ~sqrt(n/2))")
@click.option("--min-cluster-size", type=int,
              help="HDBSCAN with this minimum cluster size (outliers: unclustered); not with --k")
@seed_option("clustering")
@click.option("--embedding-model", default="local/all-MiniLM-L6-v2", show_default=True,
              help="local/all-MiniLM-L6-v2 (offline) or openai/MODEL")
@click.option("--no-map", is_flag=True, help="skip the 2-D UMAP picture")
@click.option("--llm", metavar="SPEC", help="an LLM writes the reasons and cluster titles "
              "(openai/MODEL, hf/PATH, vllm/MODEL); default: the offline splitter")
@click.option("--llm-base-url", multiple=True, metavar="URL",
              help="OpenAI-compatible base URL of --llm (repeatable)")
@format_option("format of INPUT when auto-detection is not enough")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help=".jsonl (native) or .json (LLM Comparator, with rationale clusters)")
def cluster(input: Path, what: str, k: int | None, min_cluster_size: int | None, seed: int,
            embedding_model: str, no_map: bool, llm: str | None, llm_base_url: tuple[str, ...],
            format_: str | None, output: Path) -> int:
    """Cluster the judges' rationales (or the prompts) of INPUT, a judged file in any format
    comparator reads, and save the comparison with its clusters to OUTPUT."""
    exclusive(**{"--k": k, "--min-cluster-size": min_cluster_size})
    comp = load(input, format_).comparison
    backend = None
    if llm:
        backend = make_backend(llm, base_urls=base_urls("llm", list(llm_base_url) or None),
                               api_key=api_key("llm"))
    cfg = ClusterConfig(llm=backend, method="hdbscan" if min_cluster_size else "kmeans", k=k,
                        min_cluster_size=min_cluster_size or 10, seed=seed,
                        embedding_model=embedding_model, with_map=not no_map)
    run = (cluster_rationales if what == "rationales" else cluster_prompts)(comp, cfg)
    if what == "rationales" and run.n_items == 0:
        print(f"error: {input}: no rationales to cluster (the judgments carry none); "
              "try --what prompts", file=sys.stderr)
        return 2
    save(comp, output, inputs=[input])
    for c in run.clusters:
        fav = (f"  A {c['favours_a']} / B {c['favours_b']}" if "favours_a" in c else "")
        print(f"{c['id']:>3} {c['size']:>6}{fav}  {c['title']}")
    print(f"{run.n_items} {what}, {len(run.clusters)} clusters, {run.unclustered} "
          f"unclustered; " + ", ".join(f"{k} {v:.1f}" for k, v in run.timings.items())
          + f" -> {output}", file=sys.stderr)
    return 0
