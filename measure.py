"""Measure the information plane of saved weights: ``python measure.py run=<run folder>``.

Thin wrapper around the Hydra main in ``ssl_it/measure.py`` (configs in ``configs/``, root ``configs/measure.yaml``).
"""

from ssl_it.measure import main

if __name__ == "__main__":
    main()
