"""``ct2/<path-or-name>``: CTranslate2 locally, the fast engine for a CPU (int8 weights), batched
``generate_batch`` with the model's chat template applied by its own tokenizer.

PATH is a CTranslate2 model directory (with its tokenizer files, e.g. converted with
``ct2-transformers-converter --copy_files tokenizer.json tokenizer_config.json ...``), or a
transformers model directory (or a hub name already in the local Hugging Face cache) that is
converted once into ``$COMPARATOR_HOME/ct2/``, keyed by the source files (names, sizes, mtimes),
the quantization and the CTranslate2 version. Options (``--params-a compute_type=float32,...``):
``compute_type`` (default int8 on CPU, int8_float16 on GPU), ``intra_threads`` (0 = CTranslate2's
default) and ``top_k`` (sampling only; 0 = the whole vocabulary).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from pydantic import Field

from comparator.engines.base import BackendOptions, Batcher, GenResult, Messages, SamplingParams
from comparator.schema.errors import InputError
from comparator.schema.settings import data_dir

COMPUTE_TYPES = ("int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16",
                 "bfloat16", "float32")
_VOCABS = ("vocabulary.json", "vocabulary.txt", "shared_vocabulary.json", "shared_vocabulary.txt")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")
_LOCK = threading.Lock()  # one conversion / load at a time in this process
_LOADED: dict[tuple, tuple[object, object, dict]] = {}  # (dir, device, compute, threads) -> model
POOL = 4  # run_batch sorts up to POOL * batch_size pending prompts by length
conversions = 0  # conversions done by this process (a cached model converts nothing)


def _is_ct2_dir(path: Path) -> bool:
    return (path / "model.bin").is_file() and any((path / v).is_file() for v in _VOCABS)


def _source_dir(model: str) -> Path:
    """A local directory for ``model``: the path itself, or its snapshot in the local Hugging
    Face cache (nothing is downloaded)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    try:
        from huggingface_hub import snapshot_download  # heavy (~1 s), only for hub names

        return Path(snapshot_download(model, local_files_only=True))
    except Exception:  # not a repo id, or not in the cache: one message for both
        raise InputError(model, "no such model directory (and not a model in the local Hugging "
                         "Face cache); give a CTranslate2 model directory or a transformers "
                         "model directory") from None


def _source_key(src: Path, quantization: str) -> str:
    import ctranslate2  # heavy: this module is imported for its constants by the CLI and UI

    files = sorted((str(p.relative_to(src)), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in src.rglob("*") if p.is_file())
    blob = json.dumps({"files": files, "quantization": quantization,
                       "ctranslate2": ctranslate2.__version__})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def converted_dir(src: Path, quantization: str) -> Path:
    return data_dir() / "ct2" / f"{src.name}-{quantization}-{_source_key(src, quantization)}"


def convert(src: Path, quantization: str) -> Path:
    """The CTranslate2 copy of the transformers model in ``src``, converted now unless an
    identical source was converted with the same options before."""
    global conversions
    out = converted_dir(src, quantization)
    if _is_ct2_dir(out):
        return out
    from ctranslate2.converters import TransformersConverter  # heavy (imports transformers)

    if not (src / "config.json").is_file():
        raise InputError(src, "is neither a CTranslate2 model directory (model.bin + "
                         "vocabulary) nor a transformers model directory (config.json)")
    print(f"converting {src} to CTranslate2 ({quantization}), once, into {out}",
          file=sys.stderr, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        TransformersConverter(str(src), low_cpu_mem_usage=True).convert(
            str(tmp), quantization=quantization, force=True)
        conversions += 1
        try:
            tmp.rename(out)  # atomic: a killed conversion leaves no half model behind
        except OSError:  # another process converted the same model meanwhile
            if not _is_ct2_dir(out):
                raise
    except ValueError as e:
        if "No conversion is registered" not in str(e):
            raise
        arch = str(e).split("configuration ")[1].split(" ")[0]
        raise InputError(src, f"architecture {arch} is not supported by CTranslate2; use "
                         "hf/ (transformers) for this model") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _generation_config(folder: Path) -> dict:
    path = folder / "generation_config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


class Ct2Options(BackendOptions):
    """``--params-a compute_type=float32,intra_threads=4,top_k=40``."""

    compute_type: str | None = None  # checked against this device's types when the model loads
    intra_threads: int = Field(0, ge=0)
    top_k: int = Field(0, ge=0)


OPTIONS = tuple(Ct2Options.model_fields)


class Ct2Backend:
    Options = Ct2Options

    def __init__(self, model: str, *, batch_size: int = 8, compute_type: str | None = None,
                 intra_threads: int = 0, top_k: int = 0, device: str | None = None) -> None:
        import ctranslate2  # heavy: see _source_key

        self.spec = f"ct2/{model}"
        self.device = device or ("cuda" if ctranslate2.get_cuda_device_count() else "cpu")
        compute_type = compute_type or ("int8" if self.device == "cpu" else "int8_float16")
        here = sorted(ctranslate2.get_supported_compute_types(self.device))
        if compute_type not in COMPUTE_TYPES or compute_type not in here:
            raise ValueError(f"compute_type {compute_type!r}: choose one of {', '.join(here)} "
                             f"(supported on this {self.device})")
        self.compute_type, self.intra_threads, self.top_k = compute_type, intra_threads, top_k
        src = _source_dir(model)
        if _is_ct2_dir(src) and not any((src / f).is_file() for f in _TOKENIZER_FILES):
            raise InputError(src, "is a CTranslate2 model without its tokenizer: convert with "
                             "--copy_files tokenizer.json tokenizer_config.json "
                             "chat_template.jinja generation_config.json (those that exist), "
                             "or give the transformers model directory")
        with _LOCK:
            self.model_dir = src if _is_ct2_dir(src) else convert(src, compute_type)
        self.tokenizer_dir = src
        # recorded in the file header, and part of the cache key: they change the replies
        self.info = {"compute_type": compute_type, "top_k": top_k}
        self.cache_spec = f"{self.spec}?compute_type={compute_type}&top_k={top_k}"
        self.batch_size = max(1, batch_size)
        # a pool of POOL batches, sorted by prompt length into batches (see run_batch)
        self._batcher = Batcher(self.run_batch, self.batch_size * POOL)

    def _load(self):
        key = (str(self.model_dir), self.device, self.compute_type, self.intra_threads)
        with _LOCK:
            if key not in _LOADED:
                import ctranslate2  # heavy, as transformers (seconds): when a model loads
                from transformers import AutoTokenizer

                try:
                    tok = AutoTokenizer.from_pretrained(str(self.tokenizer_dir))
                except Exception as e:
                    raise InputError(self.tokenizer_dir, "has no tokenizer the transformers "
                                     "library can read; convert with --copy_files for the "
                                     f"tokenizer files, or give the transformers model ({e})"
                                     ) from None
                gen = ctranslate2.Generator(str(self.model_dir), device=self.device,
                                            compute_type=self.compute_type,
                                            intra_threads=self.intra_threads)
                _LOADED[key] = (gen, tok, _generation_config(self.tokenizer_dir))
            return _LOADED[key]

    def run_batch(self, batch: list[Messages], params: SamplingParams) -> list[GenResult]:
        """Replies for a pool of conversations (blocking): sorted by prompt length, then
        generated ``batch_size`` at a time. CTranslate2 feeds the part of each prompt longer
        than the shortest prompt of its batch token by token, so similar lengths go together."""
        gen, tok, gconf = self._load()
        ids = [tok(tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True),
                   add_special_tokens=False)["input_ids"] for m in batch]
        eos = gconf.get("eos_token_id", tok.eos_token_id)
        end = sorted({tok.eos_token_id, *(eos if isinstance(eos, list) else [eos])} - {None})
        kwargs = dict(max_length=params.max_tokens, include_prompt_in_result=False,
                      end_token=end, sampling_topk=1)
        if gconf.get("suppress_tokens"):  # as transformers' generate does
            kwargs["suppress_sequences"] = [[t] for t in tok.convert_ids_to_tokens(
                gconf["suppress_tokens"])]
        if params.temperature > 0:
            kwargs.update(sampling_topk=self.top_k, sampling_topp=params.top_p,
                          sampling_temperature=params.temperature)
        order = sorted(range(len(batch)), key=lambda i: len(ids[i]))
        results: list[GenResult] = [GenResult()] * len(batch)
        for c in range(0, len(order), self.batch_size):
            chunk = order[c: c + self.batch_size]
            for i, res in zip(chunk, self._generate(gen, tok, [ids[i] for i in chunk], params,
                                                    set(end), kwargs), strict=True):
                results[i] = res
        return results

    def _generate(self, gen, tok, ids: list[list[int]], params: SamplingParams, ends: set,
                  kwargs: dict) -> list[GenResult]:
        """One ``generate_batch`` call."""
        import ctranslate2  # heavy: see _source_key (loaded by now, so this costs nothing)

        if params.temperature > 0 and params.seed is not None:
            # CTranslate2 seeds a loaded model's sampler once, at its first sampled batch
            # (OpenNMT/CTranslate2#1757): a fresh run with the same batches reproduces
            ctranslate2.set_random_seed(params.seed)
        logprobs: dict[int, list[float]] = {}
        if getattr(params, "logprobs", False):
            def collect(step) -> bool:
                if step.token_id not in ends:
                    logprobs.setdefault(step.batch_id, []).append(step.log_prob)
                return False

            kwargs = {**kwargs, "callback": collect, "return_scores": True}  # steps get log_prob
        t0 = time.perf_counter()
        outs = gen.generate_batch([tok.convert_ids_to_tokens(x) for x in ids], **kwargs)
        latency = time.perf_counter() - t0
        results = []
        for k, out in enumerate(outs):
            new = out.sequences_ids[0]
            lp = logprobs.get(k)
            results.append(GenResult(
                text=tok.decode(new, skip_special_tokens=True),
                finish_reason="length" if len(new) >= params.max_tokens else "stop",
                latency_s=latency, prompt_tokens=len(ids[k]), completion_tokens=len(new),
                mean_logprob=sum(lp) / len(lp) if lp else None,
                extra={"batch_size": len(ids), "device": self.device,
                       "compute_type": self.compute_type}))
        return results

    async def generate(self, messages: Messages, params: SamplingParams) -> GenResult:
        return await self._batcher.submit(messages, params)

    async def aclose(self) -> None:
        return None
