"""The run's own log file, ``<run dir>/train.log``.

Hydra opens ``train.log`` in the directory it made for the job, but
Lightning's loggers do not propagate to the root logger (Lightning gives them
their own console handler when it is imported before logging is set up), and
warnings go straight to stderr, so the file stayed empty. ``route_to`` makes
the file receive ssl_it's messages, Lightning's messages and Python warnings;
for a resumed run it is the original run's ``train.log`` (appended), not the
file in the directory Hydra made for the resuming command.
"""

from __future__ import annotations

import logging
from pathlib import Path

LOG_FILE = "train.log"
FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"
NON_PROPAGATING = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning.fabric")


def _file_handlers() -> list[logging.FileHandler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]


def detach(directory: Path) -> None:
    """Close the file handlers (root's and Lightning's) that write inside ``directory``."""
    directory = directory.resolve()
    for logger in [logging.getLogger()] + [logging.getLogger(n) for n in NON_PROPAGATING]:
        for handler in [h for h in logger.handlers if isinstance(h, logging.FileHandler)]:
            if directory in Path(handler.baseFilename).resolve().parents:
                logger.removeHandler(handler)
                handler.close()


def route_to(run_dir: Path) -> Path:
    """Send the run's log to ``<run_dir>/train.log`` (and nowhere else on disk)."""
    target = (run_dir / LOG_FILE).resolve()
    root = logging.getLogger()
    handler = next((h for h in _file_handlers() if Path(h.baseFilename).resolve() == target), None)
    for other in _file_handlers():
        if other is not handler:
            root.removeHandler(other)
            other.close()
    if handler is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(target, mode="a")
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    for name in NON_PROPAGATING:
        logger = logging.getLogger(name)
        for stale in [h for h in logger.handlers if isinstance(h, logging.FileHandler) and h is not handler]:
            logger.removeHandler(stale)
        if not logger.propagate and handler not in logger.handlers:
            logger.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    return target


def write_to_files(level: int, message: str) -> None:
    """Write ``message`` to the log files only (the console already shows it)."""
    record = logging.LogRecord("ssl_it", level, __file__, 0, message, None, None)
    for handler in _file_handlers():
        handler.handle(record)
