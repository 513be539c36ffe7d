"""Where the Hydra configs are: the folder ``ssl-it-train`` composes from.

The configs live in the top-level ``configs/`` folder of the source tree
(it mirrors ``ssl_it/``); a built wheel ships the same files inside the
package as ``ssl_it/configs`` (setup.py). :data:`CONFIG_DIR` is, in order:
``$SSL_IT_CONFIG_DIR``; ``ssl_it/configs`` beside this file (an installed
wheel); ``configs/`` beside the package (a source checkout, an editable
install). A file path rather than ``pkg://ssl_it.configs``, so that it
follows the ``ssl_it`` that was imported (a checkout on ``PYTHONPATH`` uses
its own configs, not those of an editable install elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
"""The ``ssl_it`` package folder."""


def config_dir() -> str:
    """The configs folder, as an absolute path."""
    if os.environ.get("SSL_IT_CONFIG_DIR"):
        return os.environ["SSL_IT_CONFIG_DIR"]
    shipped = PACKAGE / "configs"
    return str(shipped if (shipped / "train.yaml").is_file() else PACKAGE.parent / "configs")


CONFIG_DIR = config_dir()
