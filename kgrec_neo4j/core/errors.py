"""One root error with narrow subclasses. Messages say what was got, what was expected and how to fix it.

The CLI turns any :class:`KgrecError` into ``Error: <message>`` and its ``exit_code``: 2 when Neo4j cannot be
used (not reachable, a malformed URI, an unknown database, missing or refused credentials), 3 when another
writer holds the writer lease, 4 when the command finished but some of its records failed
(:class:`RecordsFailed`), 1 for every other error.
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
    """Neo4j cannot be used: not reachable, an unknown database, or credentials refused."""

    exit_code = 2


class CredentialsRefused(Neo4jUnavailable):
    """Neo4j refused the login: a wrong NEO4J_PASSWORD, or logins of the user locked for a while after failed ones.
    Trying again at once does not help (each failed login extends the lock); fix the settings."""


class Neo4jSettingError(ConfigError):
    """A Neo4j connection setting is missing or malformed (URI, password): the same exit code as an unreachable
    server, since the cause is the same (the command cannot reach its database)."""

    exit_code = 2


class LeaseHeld(KgrecError):
    """Another command holds the writer lease of the database (see :mod:`kgrec_neo4j.core.lease`)."""

    exit_code = 3


class RecordsFailed(KgrecError):
    """A command finished, but some of its records (items, users, review texts) failed: everything else was written,
    the failed ones are named in its output and a rerun retries them. Raised by the CLI after the summary is printed
    (the library returns reports with the failures; it does not raise this)."""

    exit_code = 4


class SchemaError(KgrecError):
    """Schema files and the database disagree, or a write breaks the schema."""


class UnknownTypeError(SchemaError):
    """A knowledge-point type outside the active type pack."""

    def __init__(self, types, allowed, packs=(), pack_arg: str | None = None):
        self.types = sorted(set(types))
        self.allowed = sorted(allowed)
        self.packs = sorted(packs)
        active = f" ({', '.join(map(repr, self.packs))})" if self.packs else ""
        arg = pack_arg or (self.packs[0] if self.packs else None)  # a pack file's path: its name is no --pack
        other = (f" If the command ran with another pack than the database's, run it with `--pack {arg}` "
                 f"(or KGREC_TYPE_PACK={arg})." if arg else "")
        super().__init__(
            f"knowledge type(s) {', '.join(map(repr, self.types))} are not in the active type pack{active}; "
            f"allowed: {', '.join(self.allowed)}. Nothing was written.{other} Otherwise fix the input, or add the "
            f"type to the pack file and run `kgrec schema apply`."
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


class BadArgument(KgrecError, ValueError):
    """A library call's argument out of its range (``k=0``, an unknown policy): a ``ValueError`` too, so that either
    catch sees it."""


class DimensionMismatch(SchemaError):
    """The embedding model's dimension differs from the vector index's."""


class LLMError(KgrecError):
    """An LLM endpoint failed or answered outside the schema (after retries)."""


class LLMUnreachable(LLMError):
    """The LLM endpoint could not be connected to for several requests in a row (after each one's retries): the
    run stops instead of failing every remaining request the same way."""


class LLMRefused(LLMError):
    """The LLM endpoint answered several requests in a row with HTTP 401, 403 or 404 (a wrong API key, model or
    path): the run stops instead of recording every remaining request as failed the same way."""


class LLMTimedOut(LLMError):
    """The LLM endpoint answered no request in time for several requests in a row (each after its retries): a stuck
    server, or one too slow for the timeout. The run stops instead of waiting out every remaining request."""


class ModelError(KgrecError):
    """Training, evaluation or write-back of a model failed."""
