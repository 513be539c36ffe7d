"""The Hydra configs; a wheel ships them as the package ``ssl_it.configs`` (``pkg://ssl_it.configs``)."""
