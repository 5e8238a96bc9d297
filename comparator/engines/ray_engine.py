"""The Ray engine of ``generate`` and ``judge`` (``--engine ray``): the same runs as the local
engine, spread over the workers of a Ray cluster.

The driver starts (or resumes) the output exactly as the local engine does (``start_pairs`` /
``start_judging``: same header, same finished examples kept), then cuts the examples still to do
into shards: a Ray Dataset of one row per shard, mapped (``map_batches``, one shard a batch, in
order) by a pool of ``ShardWorker`` actors. Each builds the backend once from the same spec (its
heavy library imported there, not on the driver) and answers a shard with the local engine's
per-example function (``pair_example`` / ``judge_example``) through the same response cache
(``responses.sqlite`` of the driver's data dir: one file shared by every worker of one machine;
on several machines, one file per node at that path: SQLite's WAL cannot span a network
filesystem).

A finished shard comes back to the driver, which writes it atomically as ``OUT.shards/K.jsonl``
and appends the shards to ``OUT`` in order (the examples of one run in the order of the prompt
set, after those of earlier runs), fsynced, then deletes the shard file. Resume:

- a worker killed mid-run: Ray restarts the actor and runs its shard again; every reply already
  paid for comes from the cache;
- the driver killed (even ``kill -9``): the same command again keeps the output's finished
  examples, appends the shard files left over (each id at most once: ids already in the output
  are skipped), and runs what is left, cached replies included.

``ray`` is imported only here, when ``--engine ray`` is chosen (``requirements-scale.txt``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import math
import os
import pickle
import threading
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from comparator.engines.appendlog import exclusive
from comparator.engines.base import SamplingParams
from comparator.engines.cache import ResponseCache
from comparator.engines.promptsets import PromptItem
from comparator.engines.registry import make_backend, parse_spec
from comparator.engines.runner import (
    Progress,
    Side,
    count_pair,
    finished_pair,
    pair_example,
    start_pairs,
)
from comparator.schema.atomic import write_bytes
from comparator.schema.settings import data_dir

MISSING = "--engine ray needs Ray: pip install -r requirements-scale.txt"
# the driver's settings the workers need (never a key: names with these words stay home)
FORWARD = ("COMPARATOR_", "HF_", "TRANSFORMERS_OFFLINE")
SECRET = ("KEY", "TOKEN", "SECRET", "PASSWORD")


class RayRunError(ValueError):
    """A run on Ray could not go on (Ray missing, a worker failing every retry): one line."""


class Recipe(Protocol):
    """What a worker runs: built once per worker, then one example at a time (picklable)."""

    def build(self) -> None: ...

    async def handle(self, item: Any, cache: ResponseCache, sem: asyncio.Semaphore,
                     prog: Progress) -> dict: ...


@dataclass
class SideSpec:
    """One model as the CLI describes it: what ``make_backend`` takes, so that every worker
    builds the same backend (and the driver too, for the output's header)."""

    name: str
    spec: str
    kwargs: dict[str, Any]
    params: SamplingParams
    info: dict = field(default_factory=dict)

    def side(self) -> Side:
        return Side(self.name, make_backend(self.spec, **self.kwargs), self.params, self.info)


@dataclass
class PairRecipe:
    a: SideSpec
    b: SideSpec

    def build(self) -> None:
        self._sides = (self.a.side(), self.b.side())

    async def handle(self, item: PromptItem, cache, sem, prog) -> dict:
        return await pair_example(item, *self._sides, cache, sem, prog)


class ShardWorker:
    """The class Ray Data runs on each worker (``map_batches`` with an actor pool): one backend,
    one event loop and one cache connection for all the shards it answers; a batch is one
    shard (its number and its pickled examples), answered as its JSONL lines and counters."""

    def __init__(self, recipe: Recipe, cache_path: str, concurrency: int,
                 progress: type[Progress]) -> None:
        self.recipe, self.cache_path, self.concurrency = recipe, cache_path, concurrency
        self.progress = progress
        self.loop = asyncio.new_event_loop()  # its own thread: Ray's may run a loop already
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.cache: ResponseCache | None = None

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, list] = {"shard": [], "data": [], "counters": []}
        for k, items in zip(batch["shard"], batch["items"], strict=True):
            data, counters = self.run(pickle.loads(items))
            out["shard"].append(int(k))
            out["data"].append(data)
            out["counters"].append(orjson.dumps(counters))
        return out

    def run(self, items: list) -> tuple[bytes, dict]:
        """The shard's lines (JSONL, in the order of ``items``) and its counters."""
        return asyncio.run_coroutine_threadsafe(self._run(items), self.loop).result()

    async def _run(self, items: list) -> tuple[bytes, dict]:
        if self.cache is None:
            self.recipe.build()
            self.cache = ResponseCache(self.cache_path)
        prog = self.progress(total=len(items))
        sem = asyncio.Semaphore(max(1, self.concurrency))
        lines = await asyncio.gather(*(self.recipe.handle(it, self.cache, sem, prog)
                                       for it in items))
        return b"".join(orjson.dumps(x) + b"\n" for x in lines), dict(vars(prog))


def available() -> bool:
    """Whether Ray is installed (the pages say which engines there are)."""
    return importlib.util.find_spec("ray") is not None


def engines_note(command: str) -> str:
    """The pages' line on which engines there are."""
    if available():
        return (f"Engines: local (this server's process) or Ray (the workers of a Ray cluster, "
                f"or a local Ray started for the run): the same output, cache and resume; "
                f"from a terminal, `comparator {command} --engine ray`.")
    return ("Engines: local (this server's process). Ray, to spread the same run over a "
            "cluster, is not installed here (`pip install -r requirements-scale.txt`).")


def require() -> None:
    """Import Ray, or RayRunError in one line: before a run touches its output."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray  # noqa: F401 (optional and heavy: only for --engine ray)
    except ImportError:
        raise RayRunError(MISSING) from None


_SESSION = threading.Lock()
_SHARED: dict[str, Any] = {"users": 0, "address": None}  # Ray is one connection per process


@contextmanager
def ray_session(address: str | None):
    """Connected to the cluster at ``address`` (or RAY_ADDRESS), else to a local Ray started
    now on 127.0.0.1 and stopped after; the ``ray`` module. Runs of one process (the
    dashboard's server) at the same time share the connection, which ends with the last."""
    require()
    import ray

    address = _address(address)
    with _SESSION:
        if _SHARED["users"] and _SHARED["address"] != address:
            raise RayRunError(f"this process already runs on {where(_SHARED['address'])}: "
                              f"one Ray cluster at a time; wait for that run, or give the same "
                              f"Ray address")
        if not _SHARED["users"]:
            _connect(ray, address)
        _SHARED["users"] += 1
        _SHARED["address"] = address
    try:
        yield ray
    finally:
        with _SESSION:
            _SHARED["users"] -= 1
            if not _SHARED["users"]:
                ray.shutdown()


def _address(address: str | None) -> str | None:
    """The cluster a run goes to: ``address``, else RAY_ADDRESS; None for a local Ray."""
    return address or os.environ.get("RAY_ADDRESS") or None


def where(address: str | None) -> str:
    """Where a run with ``address`` goes, in words."""
    address = _address(address)
    return f"the Ray cluster at {address}" if address else "a local Ray"


def _connect(ray, address: str | None) -> None:
    env = {k: v for k, v in os.environ.items()
           if k.startswith(FORWARD) and not any(s in k for s in SECRET)}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    kw: dict[str, Any] = dict(logging_level=logging.ERROR, log_to_driver=False,
                              runtime_env={"env_vars": env})
    try:
        if address:
            ray.init(address=address, **kw)
        else:
            ray.init(include_dashboard=False, _node_ip_address="127.0.0.1", **kw)
    except Exception as e:  # noqa: BLE001 (whatever Ray raises: one line saying what to do)
        raise RayRunError(f"could not start or reach {where(address)} ({_first_line(e)}); "
                          "check --ray-address / RAY_ADDRESS (`ray status` on the head "
                          "node)") from None


def gpus_per_worker(specs: list[str], tp: int, cluster_gpus: float) -> float:
    """vllm/: its tensor-parallel size; hf/ and ct2/: one GPU where the cluster has GPUs;
    openai/ (a server does the work): none."""
    providers = {parse_spec(s)[0] for s in specs}
    if "vllm" in providers:
        return float(max(1, tp))
    return 1.0 if cluster_gpus and providers & {"hf", "ct2"} else 0.0


def _merge_leftovers(folder: Path, f, wanted: set[str], keep: Callable[[dict], bool],
                     count: Callable[[dict], None]) -> set[str]:
    """Append the finished examples of the shard files a killed driver left (ids still to do
    only, each once), then delete the files. The ids appended."""
    merged: set[str] = set()
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for raw in path.read_bytes().splitlines():
            ex = orjson.loads(raw)
            if ex.get("id") in wanted and ex["id"] not in merged and keep(ex):
                f.write(raw + b"\n")
                merged.add(ex["id"])
                count(ex)
        _sync(f)
        path.unlink()
    return merged


def _first_line(e: BaseException) -> str:
    text = next((x for x in str(e).splitlines() if x.strip()), "")
    return f"{type(e).__name__}: {text[:300]}"


def _sync(f) -> None:
    f.flush()
    os.fsync(f.fileno())


def run_sharded(todo: list, ident: Callable[[Any], str], recipe: Recipe, out: Path,
                prog: Progress, keep: Callable[[dict], bool],
                count: Callable[[Progress, dict], None], *, specs: list[str],
                address: str | None = None, workers: int | None = None,
                shard_size: int | None = None, concurrency: int = 8, tp: int = 1,
                cache_path: str | Path | None = None,
                on_progress: Callable[[Progress], None] | None = None,
                cancel: threading.Event | None = None) -> Progress:
    """Answer ``todo`` on Ray with ``recipe`` and append the lines to ``out`` (already started
    by the caller). ``keep``: a line a rerun keeps; ``count``: a finished line into ``prog``."""
    folder = out.with_name(out.name + ".shards")
    cache_path = str(cache_path or data_dir() / "responses.sqlite")
    with exclusive(out), open(out, "ab") as f:
        merged = _merge_leftovers(folder, f, {ident(x) for x in todo}, keep,
                                  lambda ex: count(prog, ex))
        prog.skipped += len(merged)
        todo = [x for x in todo if ident(x) not in merged]
        if todo:
            with ray_session(address) as ray:
                _run(ray, todo, recipe, f, folder, prog, count, specs, workers, shard_size,
                     concurrency, tp, cache_path, on_progress, cancel)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return prog


def _run(ray, todo, recipe, f, folder, prog, count, specs, workers, shard_size, concurrency,
         tp, cache_path, on_progress, cancel) -> None:
    """The shards as a Ray Dataset (one row each), answered by a pool of ``ShardWorker``s
    (``map_batches``, one shard a batch), in order: each finished shard is written as a file,
    appended to the output and deleted, as it comes."""
    import ray.data

    res = ray.cluster_resources()
    gpus = gpus_per_worker(specs, tp, res.get("GPU", 0))
    room = int(res.get("GPU", 0) // gpus) if gpus else int(res.get("CPU", 1))
    n = max(1, workers or room)
    size = shard_size or max(1, min(64, math.ceil(len(todo) / (n * 4))))
    shards = [todo[i:i + size] for i in range(0, len(todo), size)]
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # the prompt set's order, as a local run
    ctx.enable_progress_bars = ctx.print_on_execution_start = False  # the CLI has its own
    ctx.enable_auto_log_stats = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    ds = ray.data.from_items([{"shard": k, "items": pickle.dumps(x)}
                              for k, x in enumerate(shards)], override_num_blocks=len(shards))
    with warnings.catch_warnings():  # restarts are not yet named parameters (Ray 2.60)
        warnings.simplefilter("ignore", DeprecationWarning)
        answered = ds.map_batches(
            ShardWorker, batch_size=1, batch_format="numpy", concurrency=min(n, len(shards)),
            fn_constructor_kwargs=dict(recipe=recipe, cache_path=cache_path,
                                       concurrency=concurrency, progress=type(prog)),
            num_cpus=1, num_gpus=gpus or None, max_restarts=3, max_task_retries=3)
    folder.mkdir(exist_ok=True)
    rows = iter(answered.iter_rows())
    try:
        for row in rows:
            k, data = int(row["shard"]), bytes(row["data"])
            path = folder / f"{k:06d}.jsonl"
            write_bytes(path, data)
            for name, v in orjson.loads(bytes(row["counters"])).items():
                if name not in ("total", "done", "failed", "skipped"):
                    setattr(prog, name, getattr(prog, name) + v)
            for raw in data.splitlines():
                count(prog, orjson.loads(raw))
            f.write(data)
            _sync(f)
            path.unlink()
            if on_progress:
                on_progress(prog)
            if cancel and cancel.is_set():  # this shard kept; those in flight are not waited for
                return
    except Exception as e:  # noqa: BLE001 (whatever Ray raises: one line, then resume)
        raise RayRunError(
            f"a Ray worker failed after its retries ({_first_line(_cause(e))}); the finished "
            "examples are kept: run the same command again to resume") from None
    finally:
        if hasattr(rows, "close"):  # stops Ray Data's execution (a cancel, an error)
            rows.close()


def _cause(e: BaseException) -> BaseException:
    """The user's error inside Ray Data's wrappers."""
    while getattr(e, "__cause__", None) is not None:
        e = e.__cause__
    return getattr(e, "cause", None) or e


def generate_pairs_ray(items: list[PromptItem], a: SideSpec, b: SideSpec, out: str | Path, *,
                       prompts_name: str = "", sides: tuple[Side, Side] | None = None,
                       **opts: Any) -> Progress:
    """``generate_pairs`` on Ray: the same output, cache and resume (``opts``: run_sharded's).
    ``sides``: the backends built here already (the header needs their descriptions)."""
    require()
    out = Path(out)
    todo, prog = start_pairs(items, *(sides or (a.side(), b.side())), out, prompts_name)
    return run_sharded(todo, lambda it: it.id, PairRecipe(a, b), out, prog, finished_pair,
                       count_pair, specs=[a.spec, b.spec], **opts)
