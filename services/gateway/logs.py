"""Logging: one JSON object a line by default, for structlog's events and the standard library's
records alike (strawberry, uvicorn, asyncpg, litestar log through ``logging``), so the log can be
read as JSON lines. An exception's traceback goes inside its line (``exception``), never after
it as plain text.

Policy (see ``ThiduaSchema.process_errors`` and ``services.gateway.errors``): a refusal, whether
a domain error or the client's own malformed request, is an info-level line with its code; only an
unexpected exception is an error."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import Processor

from shared.settings import Settings


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time (pytest swaps it per test)."""

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(json_lines: bool) -> structlog.stdlib.ProcessorFormatter:
    """Renders a record, structlog's or the standard library's, as one line."""
    rendering: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json_lines:
        # Multi-line values (a traceback) are escaped inside the JSON string: still one line.
        rendering += [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    else:
        rendering += [structlog.dev.ConsoleRenderer(colors=False)]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=rendering,
    )


def configure_logging(settings: Settings) -> None:
    """Idempotent: the root logger gets exactly one handler of ours, whatever ran before."""
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
    handler = StdoutHandler()
    handler.setFormatter(formatter(settings.log_json))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StdoutHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("strawberry", "uvicorn", "uvicorn.error", "uvicorn.access", "litestar"):
        _through_root(logging.getLogger(name))


def _through_root(logger: logging.Logger) -> None:
    """A library's own handler (uvicorn's default config, Litestar's) writes plain text:
    its records go through the root's handler instead."""
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True
