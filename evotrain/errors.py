"""User-facing errors: one line, names the field or path, exit code 2."""

from __future__ import annotations


class EvotrainError(Exception):
    """An error caused by the user's input (config, recipe, path, ...).

    The CLI prints `error: <message>` on one line and exits with `exit_code`.
    """

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def first_validation_error(exc: Exception, source: str) -> str:
    """Turn a pydantic ValidationError into one line naming the offending field."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return f"{source}: {exc}"
    items = errors()
    if not items:
        return f"{source}: invalid"
    first = items[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "<root>"
    msg = first.get("msg", "invalid")
    more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
    return f"{source}: field '{loc}': {msg}{more}"
