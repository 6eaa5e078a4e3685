"""Compiling a checked ruleset: closures, generated line filters and a key index.

Decides once what does not depend on the basket. Imports the engine's vocabulary (the
root modules) only; it never imports :mod:`engine.evaluate`, which runs what it builds.
"""
