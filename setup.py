"""The packages of the distribution; everything else is in pyproject.toml.

``configs/`` stays at the top of the source tree (it mirrors ``ssl_it/``)
and ships inside the wheel as the package ``ssl_it.configs``, so that an
installed ``ssl-it-train`` finds its configs (ssl_it/run/config_dir.py).
``hydra_plugins/`` holds Hydra plugins (Hydra scans that namespace).
"""

from setuptools import find_namespace_packages, setup

CODE = find_namespace_packages(
    include=["ssl_it", "ssl_it.*", "hydra_plugins", "hydra_plugins.*"], exclude=["*__pycache__*"]
)
CONFIGS = ["ssl_it.configs", *(f"ssl_it.configs.{group}" for group in find_namespace_packages("configs"))]

setup(
    packages=CODE + CONFIGS,
    package_dir={"ssl_it.configs": "configs"},
    package_data={"ssl_it": ["py.typed"], **{package: ["*.yaml"] for package in CONFIGS}},
)
