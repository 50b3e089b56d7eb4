"""`python -m bench.check`: does a method meet the contract every benchmark job relies on?"""

from bench.check.contract import CheckResult, check_method

__all__ = ["CheckResult", "check_method"]
