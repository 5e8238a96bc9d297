"""A judge's rationale as the dashboard shows it and the clustering reads it.

``oriented_rationale``: the one function that names the compared outputs "A" / "B" in the
file's orientation, per judgment. AlpacaEval's judge calls them ``Model 'M'`` / ``model m's`` /
``models 'm' and 'M'`` and its ``referenced_models`` (``{"M": "output_1", "m": "output_2"}``,
randomised per judgment) says which is which; a judgment the judge saw in swapped order
(``flipped``: MT-Bench's ``g2`` games, LLM Comparator's ``is_flipped``, LLMBar's
``swap = True``) has its "Assistant A" / "Response B" / "[[A]]" turned back
(``schema.labels.swap_ab``), unless our own judge wrote it (it already un-swaps).

``reason_of``: a sentence of a rationale without its verdict boilerplate, or None when it is
nothing but a verdict. The patterns, each from real rationales in the benchmarks' files:

- ``FINAL_VERDICT``: "Final Verdict: [[A]]" (MT-Bench), "My final verdict is Assistant A is
  significantly better: [[A>>B]]" (JudgeBench / Arena-Hard), "Therefore, my final verdict is:";
  the sentence is cut there (what came before it stays a reason).
- ``TIE``: "Therefore, it's a tie between Assistant B and Assistant A." (MT-Bench).
- ``RANKING``: a side named as the winner: "Therefore, model 'M' is ranked higher." / "Model 'm'
  is ranked first for its thoroughness, followed by model 'M'." (AlpacaEval), "Therefore,
  Assistant A's response is better." / "Assistant B provided a better answer." (MT-Bench),
  "Output (a) is better." (LLMBar), "Model A's output was chosen as the best due to ...". What
  follows "for / because / due to / as / since / ;" (the why) stays the reason, said of its
  side ("Model B: it provides a good summary but lacks ...").
- ``TRAILING``: "..., so it is ranked first.", "..., making it the preferred output.",
  "..., thus receiving a higher preference." are cut from the end of a sentence.
- ``CONNECTIVE``: a leading "Therefore," / "Thus," / "In conclusion," is dropped.

A reason left with fewer than ``MIN_WORDS`` words is boilerplate: it is counted, not clustered.
"""

from __future__ import annotations

import ast
import re

from comparator.schema.labels import swap_ab

MIN_WORDS = 4
SIDES = {"output_1": "A", "output_2": "B"}


def _refs(j) -> dict[str, str] | None:
    refs = (j.get("extra") or {}).get("referenced_models")
    if isinstance(refs, str):  # a CSV / TSV export keeps the dict's repr
        try:
            refs = ast.literal_eval(refs)
        except (ValueError, SyntaxError):
            return None
    if not isinstance(refs, dict):
        return None
    return {str(k): SIDES[v] for k, v in refs.items() if v in SIDES and str(k).strip()}


def name_sides(text: str, refs: dict[str, str]) -> str:
    """``text`` with the judge's names for the outputs (``refs``: name -> "A" / "B") written as
    A / B, in one pass (a name is never mapped twice): quoted anywhere ('m', "M", 'm's),
    unquoted after model(s) / output(s), also in a pair ("models M and m"), and AlpacaEval's
    output_1 / output_2."""
    if not refs:
        return text
    keys = "|".join(re.escape(k) for k in sorted(refs, key=len, reverse=True))
    pattern = re.compile(
        rf"(?<![\w'’])['\"‘“](?P<q>{keys})['\"’”](?:(?P<poss>)(?=s\b))?|"
        rf"\b(?P<noun>[Mm]odels?|[Oo]utputs?)\s+(?P<n1>{keys})"
        rf"(?:(?P<sep>\s*,\s*|\s+and\s+|\s+or\s+|\s*&\s*|\s*/\s*)(?P<n2>{keys}))?"
        r"\b(?!['’]?\w\w)|\b[Oo]utput_(?P<num>[12])\b")

    def side(m: re.Match) -> str:
        if m["q"] is not None:
            return refs[m["q"]] + ("'" if m["poss"] is not None else "")
        if m["noun"] is not None:
            pair = f"{m['sep']}{refs[m['n2']]}" if m["n2"] is not None else ""
            return f"{m['noun']} {refs[m['n1']]}{pair}"
        return "output " + "AB"[int(m["num"]) - 1]

    return pattern.sub(side, text)


def oriented_rationale(j) -> str:
    """The judgment's rationale with the compared outputs named A / B as in the file (see the
    module's docstring); the text otherwise unchanged."""
    text = j.get("rationale") or ""
    refs = _refs(j)
    if refs:
        return name_sides(text, refs)
    if j.get("flipped") and not (j.get("extra") or {}).get("run"):  # imported swapped text
        return swap_ab(text)
    return text


# roles: the outputs as the file names them, after ``oriented_rationale`` (A / B)
_NOUN = r"(?:[Rr]esponses?|[Aa]ssistants?|[Aa]nswers?|[Oo]utputs?|[Mm]odels?|[Cc]onversations?)"
_LET = r"(?:\([abAB]\)|[AB]\b)"
_SAID = (r"(?:is|was|are|has|had|does|did|provides|provided|gives|gave|offers|offered|includes|"
         r"included|lacks|lacked|fails|failed|uses|used|contains|explains|explained|correctly|"
         r"also|only|misses|missed|answers|answered|follows|followed|seems|appears|goes|went)")
_ROLE = re.compile(
    rf"(?P<pair>(?:\b[Bb]oth\s+)?(?:\b[Tt]he\s+)?(?:\b{_NOUN}\s+)?\b(?P<p1>[AB])\s*"
    rf"(?P<sep>,|&|/|\band\b|\bor\b)\s*(?:{_NOUN}\s+)?(?P<p2>[AB])\b(?!['’]s))|"
    rf"(?P<one>(?:\b[Tt]he\s+)?\b{_NOUN}(?:\s+|_(?=[ab]\b))(?P<l1>{_LET}|(?<=_)[ab]\b))"
    rf"(?P<poss>['’]s(?P<obj>\s+(?:response|answer|output|reply))?\b)?|"
    rf"\b(?P<l2>[AB])(?P<poss2>['’]s\b)|"
    rf"(?P<pre>\b(?:than|over|unlike|versus|vs\.|to|by|from)\s+|\bof\s+(?=[AB][.,;]?$))"
    rf"(?P<l3>[AB])\b(?![.*]\w|\*)|"
    rf"(?:^|(?<=[.;:,!?(]\s)|(?<=\band\s)|(?<=\bbut\s)|(?<=\bwhile\s)|(?<=\bwhereas\s)|"
    rf"(?<=\bthough\s)|(?<=\bboth\s))(?P<l4>[AB])\b(?=\s+{_SAID}\b|:\s)|"
    r"(?<=\bthat\s)(?P<l5>[AB])\b(?=\s+(?:provided|provides|offered|offers|gave|gives|"
    r"included|includes)\b)")


def _letter(m: re.Match) -> str | None:
    for g in ("l1", "l2", "l3", "l4", "l5"):
        if m[g] is not None:
            return m[g].strip("()").upper()
    return None


def roles(text: str, favours: str | None) -> str:
    """``text`` (a reason naming the outputs A / B, as ``oriented_rationale`` writes them)
    with the outputs named by role, so that a reason states a property, not a letter: the side
    the reason ``favours`` ("A" / "B") becomes "the preferred response", the other side "the
    other response" ("Response A is more concise" favouring A and "Model B is more concise"
    favouring B both read "The preferred response is more concise"). A reason favouring
    neither (``favours`` None: a tie, an untagged bullet) names the side it mentions first "one
    response" and the other "the other response", so swapping the letters changes nothing.

    Named: "Response / Assistant / Answer / Output / Model / Conversation A" (and "(a)",
    "response_a"), their possessives ("Model A's response" -> "the preferred response"), a
    bare "A's", a bare letter after "than / over / unlike / versus / to / by / from" (or "of"
    ending the sentence: "the structure of A.") or, at the start of a clause, before a verb or
    a colon ("B is shorter", "..., while A lacks ...", "A: its depth"), after "that" before
    "provided / offered / gave / included" ("the context that A provided"), and both at once
    ("Models A and B", "A and B" -> "both responses", "A or B" -> "either response"). A bare
    letter elsewhere is left alone: "Option A", "vitamin A", "Plan B" and "that A is the
    grandfather" (MT-Bench's reasoning questions) name something else."""
    if favours not in ("A", "B"):  # the side named first is "one response"
        favours = next((_letter(m) for m in _ROLE.finditer(text) if _letter(m)), "A")
        names = ("one response", "the other response")
    else:
        names = ("the preferred response", "the other response")

    def name(m: re.Match) -> str:
        if m["pair"] is not None:  # "Assistant B and B both ...": the judge meant both
            out = "either response" if m["sep"] == "or" else "both responses"
        else:
            out = names[_letter(m) != favours]
            if m["poss"] is not None and m["obj"] is None or m["poss2"] is not None:
                out += "'s"
        head = text[:m.start()].rstrip()
        out = out[0].upper() + out[1:] if not head or head[-1] in ".!?" else out
        return (m["pre"] or "") + out

    return _ROLE.sub(name, text)


def oriented_label(j) -> str | None:
    """The judgment's label in A / B (AlpacaEval's label is the letter ranked first)."""
    label = j.get("label")
    refs = _refs(j)
    return refs.get(str(label), label) if refs and label is not None else label


_C = (r"(?:therefore|thus|hence|so|in conclusion|in summary|overall|to conclude|consequently|"
      r"however)")
CONNECTIVE = re.compile(rf"^{_C}\s*,?\s+", re.I)
FINAL_VERDICT = re.compile(
    r"\b(?:(?:my|the|our)\s+)?final\s+(?:verdict|judge?ment|decision|choice|rating)\b|"
    r"^(?:\W*" + _C + r"\W*)?(?:(?:my|the|our)\s+)?verdict\b", re.I)
TIE = re.compile(rf"^(?:{_C}\s*,?\s*)?(?:it'?s|it is|this is|that is)\s+(?:a\s+)?tie\b", re.I)
_SUBJ = (r"(?:(?:the\s+)?(?:model|assistant|response|output|answer|conversation)\s+"
         r"(?:[AB]|\([ab]\))|[AB]|it|(?:the\s+)?(?:first|second)\s+(?:one|response|answer|output))"
         r"(?:['’]s\s+(?:response|answer|output|explanation))?")
_WIN = (r"(?:(?:is|was|should\s+be|would\s+be|has\s+been|gets|got)\s+(?:ranked|rated|chosen|"
        r"selected|judged|considered|deemed)?\s*(?:as\s+)?(?:the\s+)?(?:(?:slightly|much|"
        r"significantly|clearly|somewhat)\s+)?(?:higher|first|second|lower|better|best|"
        r"superior|preferred|preferable|winner)(?:\s+(?:one|choice|option|response|answer|"
        r"output|overall|of\s+the\s+two))?|(?:provided|provides|gave|gives|offered|offers|did)"
        r"\s+(?:a|the)\s+(?:(?:slightly|much)\s+)?better\s+(?:answer|response|output|job)|wins)")
RANKING = re.compile(
    rf"^(?:{_C}\s*,?\s*)?(?:(?:based on|given|considering|after|while|although|though|"
    rf"however)\b[^,]{{0,160}},\s*)?(?P<subj>{_SUBJ})(?:\s*,[^,]{{0,80}},)?\s+{_WIN}\b\s*"
    r"(?P<rest>.*)$", re.I | re.S)
_WHY = re.compile(r"^(?:,\s*)?(?:for|because(?:\s+of)?|due\s+to|as|since|thanks\s+to|given|"
                  r"in\s+that)\s+|^,\s*(?=(?:providing|offering|with|having|which|as)\b)|"
                  r"^[;:]\s*", re.I)
TRAILING = re.compile(
    rf"(?:,?\s*(?:followed\s+by|ahead\s+of|over)\s+{_SUBJ}|,?\s*(?:so|and|thus|therefore|hence|"
    rf"which\s+is\s+why)(?:\s+(?:thus|therefore|hence|so))?\s+(?:{_SUBJ}\s+)?{_WIN}|"
    rf",?\s*(?:while|whereas|and)\s+{_SUBJ}\s+{_WIN}\b.*|"
    r",?\s*(?:thus\s+|which\s+)?(?:making\s+it|makes\s+it)"
    r"\s+(?:the\s+)?(?:preferred|preferable|better|superior|best)(?:\s+(?:one|choice|option|"
    r"response|answer|output))?|,?\s*(?:thus\s+)?receiving\s+(?:a\s+)?higher\s+(?:preference|"
    r"rank(?:ing)?|score))\s*[.!;]?\s*$", re.I)


def reason_of(sentence: str) -> tuple[str | None, bool]:
    """(the reason a sentence gives without its verdict boilerplate, or None when fewer than
    ``MIN_WORDS`` words are left; whether it stated a verdict)."""
    s = re.sub(r"\*\*|__", "", " ".join(sentence.split())).strip(" -*•#:")
    verdict = False
    m = FINAL_VERDICT.search(s)
    if m:
        s, verdict = s[:m.start()].rstrip(" -*•#:("), True
    if TIE.match(s):
        return None, True
    m = RANKING.match(s)
    if m:  # "X is ranked higher": nothing left, or only its why ("for / because ...")
        rest = TRAILING.sub("", m["rest"]).strip()
        why = _WHY.match(rest)
        if not rest.strip(" .!;,"):
            return None, True
        if why:  # the why, said of its side: "Model B: it provides a good summary but ..."
            subj = m["subj"] if re.search(r"\b[AB]\b|\([ab]\)", m["subj"]) else ""
            s, verdict = (subj and subj[0].upper() + subj[1:] + ": ") + rest[why.end():], True
    cut = TRAILING.sub("", s).strip()
    verdict = verdict or cut != s.strip()
    s = CONNECTIVE.sub("", cut).strip(" ,;")
    if len(s.split()) < MIN_WORDS:
        return None, verdict
    s = s[0].upper() + s[1:]
    return (s if s[-1] in ".!?…)\"'" else s + "."), verdict
