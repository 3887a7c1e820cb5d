"""The CLI's user-facing failure and the file reading every command shares."""

from __future__ import annotations


class CliError(Exception):
    """A user-facing failure: printed as one line."""


def read_file(path: str | None, label: str) -> bytes | None:
    """The file's bytes (None for no path), or a one-line CliError naming what could not be read."""
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CliError(f"cannot read {label} {path}: {e.strerror}") from None
