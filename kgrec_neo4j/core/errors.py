"""One root error with narrow subclasses. Messages say what was got, what was expected and how to fix it.

The CLI turns any :class:`KgrecError` into ``Error: <message>`` and exit code 1.
"""

from __future__ import annotations


class KgrecError(Exception):
    """Root of every error this project raises on purpose."""

    exit_code = 1


class ConfigError(KgrecError):
    """Bad or missing configuration (environment, kgrec.toml, flags)."""


class ServerError(KgrecError):
    """The local Neo4j server could not be installed, started or stopped."""


class Neo4jUnavailable(KgrecError):
    """Neo4j is not reachable or refused the credentials."""

    exit_code = 2


class SchemaError(KgrecError):
    """Schema files and the database disagree, or a write breaks the schema."""


class UnknownTypeError(SchemaError):
    """A knowledge-point type outside the active type pack."""

    def __init__(self, types, allowed):
        self.types = sorted(set(types))
        self.allowed = sorted(allowed)
        super().__init__(
            f"knowledge type(s) {', '.join(map(repr, self.types))} are not in the active type pack; "
            f"allowed: {', '.join(self.allowed)}. Nothing was written. Fix the input, or add the type to the "
            f"pack file and run `kgrec schema apply`."
        )


class InputError(KgrecError):
    """Bad input data: names the file, line or record and the fix."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        self.source = source
        self.line = line
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(where + message)


class DimensionMismatch(SchemaError):
    """The embedding model's dimension differs from the vector index's."""


class LLMError(KgrecError):
    """An LLM endpoint failed or answered outside the schema (after retries)."""


class ModelError(KgrecError):
    """Training, evaluation or write-back of a model failed."""
