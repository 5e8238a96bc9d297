"""The dashboard's words for what the readers say in the CLI's: a message naming ``--pair A,B``
names the Data page's "Model pair" field when the dashboard shows it."""

from __future__ import annotations

import re

# the CLI's option -> the Data page's control (comparator.ui.opening.file_options)
_CONTROLS = (
    (r"--pair A,B", 'the "Model pair" field (A,B)'), (r"--pair", '"Model pair"'),
    (r"--model-a MODEL", 'the "Model pair" field (MODEL,BASELINE)'),
    (r"--model-b", 'the "Model pair" field (MODEL,BASELINE)'),
    (r"--questions", 'the "MT-Bench question.jsonl" file'),
    (r"--format table", 'the "Format" choice "table"'), (r"--format", 'the "Format" choice'),
    (r"--map NAME=COLUMN", "the column mapping"), (r"--map (\S+?)(?=[:;,. ]|$)",
                                                   r"the column mapping (\1)"),
    (r"--map", "the column mapping"),
    (r"rate its models with `comparator leaderboard FILE`", "open it on the Leaderboard page"),
)


def dashboard_words(message: str) -> str:
    """A message of the readers (which name the CLI's options: ``--pair A,B``) in the words of
    the dashboard (its "Model pair" field)."""
    for pattern, words in _CONTROLS:
        message = re.sub(pattern, words, message)
    return message
