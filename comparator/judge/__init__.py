"""LLM judge: side-by-side verdicts with rationales, both orders, parsed strictly.

``prompts`` holds every template; ``parse`` reads verdicts; ``runner.judge_comparison`` runs a
judge over a comparison with the generation backends, cache and resume.
"""
