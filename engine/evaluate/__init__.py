"""Pricing one request with a compiled program: request validation, then the stages.

Imports the engine's vocabulary and the compiled program's types from :mod:`engine.compile`;
nothing here builds a program.
"""

from engine.evaluate.stages import evaluate
from engine.evaluate.validate import validate_request

__all__ = ["evaluate", "validate_request"]
