"""Hydra plugins shipped with ssl_it (found by Hydra's plugin scan of ``hydra_plugins``)."""
