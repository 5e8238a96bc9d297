"""Response metrics, the n-gram panel and perplexity, checked against independent computations
written here (Python's own str/re, the ROUGE/BLEU/chrF libraries called directly, the
log-odds formula by hand, a direct transformers forward pass)."""

from __future__ import annotations

import json
import math
import re
from collections import Counter

import numpy as np
import pytest
from conftest import ALPACA_COT, MT_JUDGMENTS, run_cli, winner

from comparator.analysis import slice_table
from comparator.analysis.filters import Filters, apply
from comparator.analysis.metrics import MetricError, add_user_metric, metric_columns
from comparator.formats import load, save
from comparator.schema.records import Comparison, response_text


def comp_of(pairs, **kw) -> Comparison:
    exs = []
    for i, (a, b) in enumerate(pairs):
        ex = {"id": str(i), "prompt": f"p{i}", "response_a": a, "response_b": b,
              "judgments": [{"score": 1.0 if i % 2 else -1.0}]}
        ex.update(kw)
        exs.append(ex)
    return Comparison(model_a="A", model_b="B", examples=exs)


# (text, words, has_list, has_headings, has_code, has_url, affirmation, refusal, repeated)
CASES = [
    ("Sure! Here are three:\n- apples\n- pears\n* plums", 10, 1, 0, 0, 0, 1, 0, 0),
    ("1. First step\n2) Second step", 6, 1, 0, 0, 0, 0, 0, 0),
    ("A hyphen-joined word - not a list item? Yes: -5 degrees.", 11, 0, 0, 0, 0, 0, 0, 0),
    ("# Title\n\nBody text.\n\nSubtitle\n========\nmore", 7, 0, 1, 0, 0, 0, 0, 0),
    ("#hashtag is not a heading", 5, 0, 0, 0, 0, 0, 0, 0),
    ("Use this:\n```python\nprint(1)\n```", 5, 0, 0, 1, 0, 0, 0, 0),
    ("Inline `code` only, and www.example.com is a site.", 8, 0, 0, 0, 1, 0, 0, 0),
    ("See HTTPS://docs.python.org/3/ for details.", 4, 0, 0, 0, 1, 0, 0, 0),
    ("certainly, that works", 3, 0, 0, 0, 0, 1, 0, 0),
    ("I'm sorry, but I can't help with that request.", 9, 0, 0, 0, 0, 0, 1, 0),
    ("As an AI language model, I think so.", 8, 0, 0, 0, 0, 0, 1, 0),
    ("Surely not an affirmation.", 4, 0, 0, 0, 0, 0, 0, 0),
    ("The sky is blue today. The sky is blue today! THE SKY IS BLUE TODAY. Short. Short.",
     17, 0, 0, 0, 0, 0, 0, 2),
    ("", 0, 0, 0, 0, 0, 0, 0, 0),
    ("tabs\tand\u00a0no-break\u3000spaces\ncount", 5, 0, 0, 0, 0, 0, 0, 0),
]
BOOLS = ["has_list", "has_headings", "has_code", "has_url", "affirmation", "refusal"]


def test_builtins_on_hand_made_cases():
    comp = comp_of([(c[0], "x") for c in CASES])
    cols = metric_columns(comp)
    for k, case in enumerate(CASES):
        text, words, *flags, repeated = case
        assert cols["a.words"][k] == words == len(text.split()), text
        assert cols["a.characters"][k] == len(text)
        for name, want in zip(BOOLS, flags, strict=True):
            assert bool(cols[f"a.{name}"][k]) == bool(want), (name, text)
        assert cols["a.repeated_sentences"][k] == repeated, text
    assert cols["b.words"].tolist() == [1.0] * len(CASES)


def test_multi_turn_counts_sum_and_flags_any_turn():
    comp = comp_of([(["Sure, one two.", "```\nx\n```"], ["no", "Certainly!"])],
                   messages=[{"role": "user", "content": "q1"}, {"role": "user", "content": "q2"}])
    del comp.examples[0]["prompt"]
    cols = metric_columns(comp)
    assert cols["a.words"][0] == 3 + 3 and cols["a.characters"][0] == 14 + 9
    assert cols["a.has_code"][0] and cols["a.affirmation"][0]  # code in turn 2, Sure in turn 1
    assert cols["b.affirmation"][0]  # turn 2 starts with Certainly
    # as many turns as responses, but not one each: still summed per response
    mixed = comp_of([(["one two", "three"], "x"), ([], "y")])
    assert metric_columns(mixed)["a.words"].tolist() == [3.0, 0.0]


def test_builtins_on_real_responses_match_python():
    comp = load(ALPACA_COT).comparison
    cols = metric_columns(comp)
    for s in "ab":
        texts = [response_text(ex[f"response_{s}"]) for ex in comp.examples]
        assert cols[f"{s}.words"].tolist() == [len(t.split()) for t in texts]
        assert cols[f"{s}.characters"].tolist() == [len(t) for t in texts]
        code = [re.search(r"(?m)^[ \t]*(```|~~~)", t) is not None for t in texts]
        url = [re.search(r"(?i)\bhttps?://[^\s<>()]+|\bwww\.[a-z0-9-]+\.[a-z]", t) is not None
               for t in texts]
        assert cols[f"{s}.has_code"].tolist() == code and any(code)
        assert cols[f"{s}.has_url"].tolist() == url
        assert cols[f"{s}.repeated_sentences"].tolist() == [repeats(t) for t in texts]
    assert cols["a.repeated_sentences"].sum() > 0


ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def repeats(text: str) -> int:
    """Sentences of 16+ UTF-8 bytes equal (ASCII case, end punctuation and spaces aside) to an
    earlier one of the text; sentences end at a line break or at . ! ? before a space."""
    seen, n = set(), 0
    for sent in re.split(r"\n|\. |! |\? ", text):
        key = sent.strip(" \t\n\r\x0b\x0c").translate(ASCII_LOWER).rstrip(".!? ")
        if len(key.encode()) >= 16:
            n += key in seen
            seen.add(key)
    return n


def test_reference_metrics_equal_the_libraries():
    import sacrebleu
    from rouge_score import rouge_scorer

    comp = load(MT_JUDGMENTS).comparison
    cols = metric_columns(comp)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    with_ref = 0
    for i, ex in enumerate(comp.examples):
        ref = ex.get("reference")
        if not ref:
            assert np.isnan(cols["a.rouge1"][i]) and np.isnan(cols["b.bleu"][i])
            continue
        with_ref += 1
        ref = response_text(ref)
        for s in "ab":
            hyp = response_text(ex[f"response_{s}"])
            r = scorer.score(ref, hyp)
            for m in ("rouge1", "rouge2", "rougeL"):
                assert cols[f"{s}.{m}"][i] == pytest.approx(r[m].fmeasure, abs=1e-12)
            assert cols[f"{s}.bleu"][i] == pytest.approx(
                sacrebleu.sentence_bleu(hyp, [ref]).score, abs=1e-9)
            assert cols[f"{s}.chrf"][i] == pytest.approx(
                sacrebleu.sentence_chrf(hyp, [ref]).score, abs=1e-9)
    assert with_ref >= 20


def test_metric_filter_and_metric_slice():
    comp = load(ALPACA_COT).comparison
    words_a = np.array([len(response_text(ex["response_a"]).split()) for ex in comp.examples])
    mask = apply(comp, Filters(metrics=[("a.words", ">", 200), ("b.has_list", "==", 1)]))
    has_list_b = metric_columns(comp)["b.has_list"]
    assert mask.tolist() == ((words_a > 200) & has_list_b).tolist()
    # boolean slice: counts of winners among examples whose B has a list
    rows = {r["value"]: r for r in slice_table(comp, "b.has_list")}
    scores = [sum(j["score"] for j in ex["judgments"] if j.get("score") is not None)
              / max(1, sum(j.get("score") is not None for j in ex["judgments"]))
              if any(j.get("score") is not None for j in ex["judgments"]) else None
              for ex in comp.examples]
    want = Counter(winner(s) for s, h in zip(scores, has_list_b, strict=True) if h)
    assert (rows["true"]["a_wins"], rows["true"]["b_wins"], rows["true"]["ties"]) == (
        want["A"], want["B"], want["tie"])
    # numeric slice: bins cover every example once, edges are readable, and each bin holds
    # exactly the examples whose word count lies in it
    bins = slice_table(comp, "a.words")
    assert sum(r["n"] for r in bins) == len(comp.examples)
    for r in bins:
        lo, hi = (float(x) for x in re.findall(r"[\d.]+", r["value"]))
        inside = (words_a >= lo) & ((words_a <= hi) if r["value"].endswith("]") else
                                    (words_a < hi))
        assert r["n"] == inside.sum(), r["value"]


def test_stats_by_metric_and_bad_regex_cli(tmp_path):
    out = run_cli("stats", ALPACA_COT, "--by", "a.has_list", "--by", "b.words", "--json")
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    fields = {r["field"] for r in s["slices"]}
    assert fields == {"a.has_list", "b.words"}
    assert sum(r["n"] for r in s["slices"] if r["field"] == "b.words") == s["n"]
    bad = run_cli("metrics", ALPACA_COT, "--regex", "x=([a-z")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().count("\n") == 0 and "bad regular expression" in bad.stderr
    with pytest.raises(MetricError, match="taken by a built-in"):
        add_user_metric(comp_of([("a", "b")]), "words", "x")


def test_user_metrics_count_and_bool_are_saved_with_the_comparison(tmp_path):
    out_file = tmp_path / "with_metrics.jsonl"
    out = run_cli("metrics", ALPACA_COT, "--regex", "delve=(?i)\\bdelve", "--count",
                  "bold=\\*\\*[^*]+\\*\\*", "--count", "lookbehind=(?<=\\d)%", "-o", out_file,
                  "--json")
    assert out.returncode == 0, out.stderr
    comp = load(out_file).comparison
    assert [m["name"] for m in comp.metadata["user_metrics"]] == ["delve", "bold", "lookbehind"]
    cols = metric_columns(comp)
    for s in "ab":
        texts = [response_text(ex[f"response_{s}"]) for ex in comp.examples]
        assert cols[f"{s}.delve"].tolist() == [re.search(r"(?i)\bdelve", t) is not None
                                               for t in texts]
        assert cols[f"{s}.bold"].tolist() == [len(re.findall(r"\*\*[^*]+\*\*", t))
                                              for t in texts]
        assert cols[f"{s}.lookbehind"].tolist() == [len(re.findall(r"(?<=\d)%", t))
                                                    for t in texts]
    summary = {r["metric"]: r for r in json.loads(out.stdout)["metrics"]}
    assert summary["delve"]["share_a"] == pytest.approx(cols["a.delve"].mean())


def test_ngram_log_odds_on_a_constructed_case():
    from comparator.analysis.metrics.ngrams import ngram_mask, ngram_table

    a_texts = ["the cat sat on the mat", "the cat is happy", "a cat, a hat"]
    b_texts = ["the dog sat on the log", "the dog is happy", "a dog and a frog"]
    comp = comp_of(list(zip(a_texts, b_texts, strict=True)))
    df = ngram_table(comp, ngram_range=(1, 2), prior_weight=10.0, min_count=1).set_index("ngram")

    def grams(texts):
        c = Counter()
        for t in texts:
            toks = re.findall(r"\w+", t.lower())
            c.update(toks)
            c.update(" ".join(p) for p in zip(toks, toks[1:], strict=False))
        return c

    ya, yb = grams(a_texts), grams(b_texts)
    vocab = set(ya) | set(yb)
    na, nb = sum(ya.values()), sum(yb.values())
    pooled = {w: ya[w] + yb[w] for w in vocab}
    tot = sum(pooled.values())
    a0 = 10.0
    for w in ["cat", "dog", "the", "sat on", "a cat", "happy"]:
        aw = a0 * pooled[w] / tot
        delta = (math.log((ya[w] + aw) / (na + a0 - ya[w] - aw))
                 - math.log((yb[w] + aw) / (nb + a0 - yb[w] - aw)))
        z = delta / math.sqrt(1 / (ya[w] + aw) + 1 / (yb[w] + aw))
        assert df.loc[w, "z"] == pytest.approx(z, rel=1e-9), w
        assert (df.loc[w, "count_a"], df.loc[w, "count_b"]) == (ya[w], yb[w])
    assert df.loc["cat", "z"] > 0 > df.loc["dog", "z"]
    assert ngram_mask(comp, "a cat").tolist() == [False, False, True]
    assert ngram_mask(comp, "SAT ON").tolist() == [True, False, False]
    assert apply(comp, Filters(ngram="is happy")).tolist() == [False, True, False]


def test_perplexity_equals_a_direct_transformers_computation(tiny_model, tmp_path, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from comparator.engines.perplexity import ScoreCache, score

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    comp = comp_of([("Paris is the capital of France.", "The quick brown fox."),
                    ("Model A answered.", "")])
    comp.examples.append({"id": "mt", "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Write a poem."},
        {"role": "user", "content": "Shorter?"}],
        "response_a": ["The sea and the moon.", "The moon."],
        "response_b": ["Numbers: 1 2 3", "Yes."]})
    cache = ScoreCache(tmp_path / "ppl.sqlite")
    got = score(comp, f"hf/{tiny_model}", batch_size=2, cache=cache)

    tok = AutoTokenizer.from_pretrained(tiny_model)
    lm = AutoModelForCausalLM.from_pretrained(tiny_model).eval()

    def direct(context, reply):
        prefix = tok(tok.apply_chat_template(context, tokenize=False,
                                             add_generation_prompt=True),
                     add_special_tokens=False)["input_ids"]
        ids = tok(reply, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = lm(torch.tensor([prefix + ids])).logits[0]
        lp = torch.log_softmax(logits, -1)
        return sum(float(lp[len(prefix) + j - 1, t]) for j, t in enumerate(ids)), len(ids)

    def want(ex, s):
        if ex.get("prompt") is not None:
            parts = [direct([{"role": "user", "content": ex["prompt"]}], ex[f"response_{s}"])]
        else:
            r = ex[f"response_{s}"]
            sys_, u1, u2 = (m["content"] for m in ex["messages"])
            parts = [direct([{"role": "system", "content": sys_},
                             {"role": "user", "content": u1}], r[0]),
                     direct([{"role": "system", "content": sys_}, {"role": "user", "content": u1},
                             {"role": "assistant", "content": r[0]},
                             {"role": "user", "content": u2}], r[1])]
        total, n = sum(p[0] for p in parts), sum(p[1] for p in parts)
        return total / n if n else float("nan")

    for i, ex in enumerate(comp.examples):
        for s in "ab":
            w = want(ex, s)
            g = got[f"{s}_ref_mean_logprob"][i]
            if math.isnan(w):
                assert math.isnan(g)
                continue
            assert g == pytest.approx(w, abs=1e-4), (i, s)
            assert got[f"{s}_ref_perplexity"][i] == pytest.approx(math.exp(-w), rel=1e-4)
    # the second run is served from the cache (no model needed): same numbers
    again = score(comp, f"hf/{tiny_model}", cache=cache)
    np.testing.assert_allclose(again["a_ref_mean_logprob"], got["a_ref_mean_logprob"])


def test_hf_generation_records_mean_logprob(tiny_model):
    import asyncio

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from comparator.engines.base import SamplingParams
    from comparator.engines.hf_backend import HFBackend

    assert "logprobs" not in SamplingParams().key()  # old cache keys are unchanged
    msgs = [{"role": "user", "content": "Write a short poem about the sea."}]
    res = asyncio.run(HFBackend(str(tiny_model)).generate(
        msgs, SamplingParams(max_tokens=8, logprobs=True)))
    assert res.status == "ok" and res.completion_tokens and res.mean_logprob is not None
    tok = AutoTokenizer.from_pretrained(tiny_model)
    lm = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    prefix = tok(tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True),
                 add_special_tokens=False)["input_ids"]
    with torch.no_grad():  # the same greedy reply, generated here directly
        gen = lm.generate(torch.tensor([prefix]), max_new_tokens=8, do_sample=False,
                          pad_token_id=tok.pad_token_id)[0, len(prefix):].tolist()
        ids = [t for t in gen if t not in (tok.eos_token_id, tok.pad_token_id)]
        assert tok.decode(ids, skip_special_tokens=True) == res.text
        lp = torch.log_softmax(lm(torch.tensor([prefix + ids])).logits[0], -1)
    direct = sum(float(lp[len(prefix) + j - 1, t]) for j, t in enumerate(ids)) / len(ids)
    assert res.mean_logprob == pytest.approx(direct, abs=1e-4)


def test_native_roundtrip_keeps_user_metrics(tmp_path):
    comp = load(ALPACA_COT).comparison
    add_user_metric(comp, "sorry", r"(?i)\bsorry\b", "bool")
    save(comp, tmp_path / "x.jsonl")
    back = load(tmp_path / "x.jsonl").comparison
    assert metric_columns(back)["b.sorry"].tolist() == metric_columns(comp)["b.sorry"].tolist()


def test_generation_writes_mean_logprob_and_perplexity(tiny_model, tmp_path, monkeypatch):
    """generate --logprobs with the hf backend: metadata gets a_/b_mean_logprob and perplexity
    for the two-turn MT-Bench answers; metrics --perplexity then adds the reference-model
    figures and saves them."""
    from conftest import MT_QUESTIONS

    monkeypatch.setenv("COMPARATOR_HOME", str(tmp_path))
    out = tmp_path / "gen.jsonl"
    r = run_cli("generate", "--prompts", MT_QUESTIONS, "--model-a", f"hf/{tiny_model}",
                "--model-b", f"hf/{tiny_model}", "--params-b", "temperature=0.8",
                "--limit", "2", "--max-tokens", "6", "--logprobs", "-o", out)
    assert r.returncode == 0, r.stderr
    comp = load(out).comparison
    scored = tmp_path / "scored.jsonl"
    r = run_cli("metrics", out, "--perplexity", f"hf/{tiny_model}", "-o", scored, "--json")
    assert r.returncode == 0, r.stderr
    back = load(scored).comparison
    for ex, ex2 in zip(comp.examples, back.examples, strict=True):
        m = ex["metadata"]
        for s in "ab":
            assert m[f"{s}_perplexity"] == pytest.approx(math.exp(-m[f"{s}_mean_logprob"]),
                                                         rel=1e-3)
            ref = ex2["metadata"][f"{s}_ref_mean_logprob"]
            assert ref < 0 and ex2["metadata"][f"{s}_ref_perplexity"] == pytest.approx(
                math.exp(-ref), rel=1e-4)
        # (the generation-time and the reference scoring of the same text are not compared:
        # the random tiny model emits special tokens that decoding drops, so the re-tokenised
        # text differs; test_hf_generation_records_mean_logprob checks the former directly)
    names = {row["metric"] for row in json.loads(r.stdout)["metrics"]}
    assert {"mean_logprob", "perplexity", "ref_mean_logprob", "ref_perplexity"} <= names


def test_openai_backend_reads_logprobs_from_a_fake_stream():
    """`transformers serve` ignores `logprobs`, so the OpenAI stream format (chat completion
    chunks with choices[].logprobs.content[].logprob, as OpenAI and vLLM send them) is played
    by a FAKE local server here: the request must ask for logprobs and the mean must be read."""
    import asyncio
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from comparator.engines.base import SamplingParams
    from comparator.engines.openai_backend import OpenAIBackend

    lps = [-0.5, -1.25, -2.0]
    seen = {}

    class FakeOpenAI(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            seen.update(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for k, lp in enumerate(lps):
                chunk = {"choices": [{"index": 0, "delta": {"content": f"t{k} "},
                                      "logprobs": {"content": [{"token": f"t{k}", "logprob": lp,
                                                                "top_logprobs": []}]}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 3, "completion_tokens": 3}}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        backend = OpenAIBackend("m", base_urls=[f"http://127.0.0.1:{server.server_port}/v1"])
        msgs = [{"role": "user", "content": "hi"}]
        res = asyncio.run(backend.generate(msgs, SamplingParams(logprobs=True)))
        assert seen["logprobs"] is True and res.text == "t0 t1 t2 "
        assert res.mean_logprob == pytest.approx(sum(lps) / len(lps))
        seen.clear()
        asyncio.run(backend.generate(msgs, SamplingParams()))
        assert seen and "logprobs" not in seen  # not asked for unless requested
    finally:
        server.shutdown()


def test_a_hand_edited_bad_user_metric_is_ignored():
    comp = comp_of([("sorry", "fine")])
    comp.metadata["user_metrics"] = [{"name": "bad", "pattern": "(", "kind": "bool"},
                                     {"name": "ok", "pattern": "sorry", "kind": "bool"}]
    cols = metric_columns(comp)
    assert "a.bad" not in cols and cols["a.ok"].tolist() == [True]
