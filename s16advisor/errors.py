"""Errors the library raises; the CLI turns each into one line and exit code 3."""

from __future__ import annotations


class S16Error(Exception):
    """Base class for every error s16advisor reports to a user."""


class InputError(S16Error):
    """A contract description (or another input) could not be read or validated.

    ``problems`` holds one ``(location, message)`` pair per problem; ``location`` is
    ``file:line: field.path`` as far as it is known.
    """

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{loc}: {msg}" if loc else msg for loc, msg in problems))

    def lines(self) -> list[str]:
        return [f"{loc}: {msg}" if loc else msg for loc, msg in self.problems]

    def __reduce__(self) -> tuple[type[InputError], tuple[list[tuple[str, str]]]]:
        # (pickled by its problems: a worker process sends it back so; by default it was made again from its message)
        return type(self), (self.problems,)


class RulebookError(S16Error):
    """The bundled rules or data are invalid (a bug in the rulebook, not in the user's input)."""


class EngineError(S16Error):
    """The inference engine failed while evaluating a contract."""


def not_a_text_encoding(name: str) -> str | None:
    """Why ``name`` cannot decode a file (unknown to Python, or a codec of bytes such as rot13), or None."""
    try:
        "".encode(name)
    except LookupError as e:
        return f"{name!r} is not a text encoding" if "text encoding" in str(e) else \
            f"{name!r} is not an encoding Python knows"
    return None


def check_choice(owner: str, name: str, value: object, allowed: tuple[str, ...]) -> None:
    """A ValueError naming ``owner``'s argument ``name`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{owner}: {name} {value!r} is not one of {', '.join(allowed)}")
