"""Semantic checks of a parsed ruleset and of its worked examples, and running those examples.

What a merchandiser sees before anything is published: each error carries its span. Imports the
engine's vocabulary and :mod:`engine.compiled` (to run examples).
"""
