"""Typed errors raised for bad input: each names the argument, the bad value and what is allowed."""

from __future__ import annotations

import numbers
from typing import Any


class RscbenchError(Exception):
    """Base class of every error rscbench raises on purpose."""


class InvalidArgumentError(RscbenchError, ValueError):
    """An argument, config field or CLI flag has a value outside what is allowed.

    Attributes ``argument``, ``value`` and ``allowed`` hold the three parts of the message so that
    the CLI can print one clear line and tests can check which argument was refused.
    """

    def __init__(self, argument: str, value: Any, allowed: str) -> None:
        self.argument = argument
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid {argument}={value!r}: allowed {allowed}")


def require_integer(argument: str, value: Any, minimum: int, maximum: int | None = None) -> None:
    """Raise InvalidArgumentError unless ``value`` is an integer (not a bool) >= ``minimum`` (and
    <= ``maximum`` when given)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        allowed = f"an integer >= {minimum}" if maximum is None else f"an integer in [{minimum}, {maximum}]"
        raise InvalidArgumentError(argument, value, allowed)
