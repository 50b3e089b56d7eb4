"""`bench.evaluate(...)`: the command line's jobs from Python, for notebooks."""

from bench.evaluation.api import Evaluation, evaluate

__all__ = ["Evaluation", "evaluate"]
