"""structlog set-up: JSON lines in a cluster, readable console output on a terminal.

Messages are constants and the variable parts are key-value pairs; context (the object a line
is about) is bound once at each entry point with ``structlog.contextvars``.

The standard library's loggers write through the same processors and renderer (structlog's
``ProcessorFormatter`` on the root logger's one handler): aiohttp (``aiohttp.server`` logs a
request it could not handle, with its traceback), asyncio (an error on a transport) and any
other library log lines shaped like hpa's, with a ``logger`` key. In JSON, a traceback is then
the ``exception`` string of one line instead of a dozen lines a log collector takes for as many
entries, none of them JSON.
"""

import logging
import sys

import structlog


def configure_logging(*, level: str = "info", json: bool | None = None) -> None:
    """Configure structlog and the standard library's root logger, which renders the same way.

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
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    logging.basicConfig(level=numeric, handlers=[handler], force=True)
    # httpx logs every request at INFO; hpa's own lines say what matters.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, numeric))
