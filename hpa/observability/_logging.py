"""structlog set-up: JSON lines in a cluster, readable console output on a terminal.

Messages are constants and the variable parts are key-value pairs; context (the object a line
is about) is bound once at each entry point with ``structlog.contextvars``.
"""

import logging
import sys

import structlog


def configure_logging(*, level: str = "info", json: bool | None = None) -> None:
    """Configure structlog and the standard library's root logger.

    Args:
        level: the lowest level written (debug, info, warning, error).
        json: JSON lines if True, console if False; by default JSON unless stderr is a TTY.
    """
    if json is None:
        json = not sys.stderr.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(name)s %(message)s")
    # httpx logs every request at INFO; hpa's own lines say what matters.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, numeric))
