"""``python -m comparator cluster``: rationale clusters or discovered prompt categories."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_cluster_parser(sub) -> None:
    p = sub.add_parser("cluster", help="cluster the judges' reasons (or the prompts)")
    p.add_argument("input", type=Path, help="a judged file (any format comparator reads)")
    p.add_argument("--what", choices=["rationales", "prompts"], default="rationales")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--k", type=int, help="KMeans with K clusters (default ~sqrt(n/2))")
    g.add_argument("--min-cluster-size", type=int,
                   help="HDBSCAN with this minimum cluster size (outliers: unclustered)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--embedding-model", default="local/all-MiniLM-L6-v2",
                   help="local/all-MiniLM-L6-v2 (offline) or openai/MODEL")
    p.add_argument("--no-map", action="store_true", help="skip the 2-D UMAP picture")
    p.add_argument("--llm", metavar="SPEC", help="an LLM writes the reasons and cluster titles "
                   "(openai/MODEL, hf/PATH, vllm/MODEL); default: the offline splitter")
    p.add_argument("--llm-base-url", action="append", metavar="URL")
    p.add_argument("--format", help="format of INPUT when auto-detection is not enough")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help=".jsonl (native) or .json (LLM Comparator, with rationale clusters)")


def run_cluster(args: argparse.Namespace) -> int:
    from comparator.clustering import ClusterConfig, cluster_prompts, cluster_rationales
    from comparator.formats import load, save

    comp = load(args.input, args.format).comparison
    llm = None
    if args.llm:
        from comparator.engines import make_backend
        from comparator.engines.secrets import api_key, base_urls

        llm = make_backend(args.llm, base_urls=base_urls("llm", args.llm_base_url),
                           api_key=api_key("llm"))
    cfg = ClusterConfig(llm=llm, method="hdbscan" if args.min_cluster_size else "kmeans", k=args.k,
                        min_cluster_size=args.min_cluster_size or 10, seed=args.seed,
                        embedding_model=args.embedding_model, with_map=not args.no_map)
    run = (cluster_rationales if args.what == "rationales" else cluster_prompts)(comp, cfg)
    if args.what == "rationales" and run.n_items == 0:
        print(f"error: {args.input}: no rationales to cluster (the judgments carry none); "
              "try --what prompts", file=sys.stderr)
        return 2
    save(comp, args.output)
    for c in run.clusters:
        fav = (f"  A {c['favours_a']} / B {c['favours_b']}" if "favours_a" in c else "")
        print(f"{c['id']:>3} {c['size']:>6}{fav}  {c['title']}")
    print(f"{run.n_items} {args.what}, {len(run.clusters)} clusters, {run.unclustered} "
          f"unclustered; " + ", ".join(f"{k} {v:.1f}" for k, v in run.timings.items())
          + f" -> {args.output}", file=sys.stderr)
    return 0
