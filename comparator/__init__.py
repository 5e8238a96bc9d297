"""comparator: compare two LLMs side by side from judged pairwise files.

Stages live one package each: ``comparator.formats`` (schema, import/export),
``comparator.analysis`` (statistics), ``comparator.cli.main`` (``python -m comparator``).
Only ``comparator.ui`` imports streamlit.
"""

__version__ = "0.1.0"
