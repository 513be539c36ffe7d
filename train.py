"""Train an SSL model and log its information plane: ``python train.py objective=vicreg estimator=mine``.

Thin wrapper around the Hydra main in ``ssl_it/train.py`` (configs in ``configs/``, root ``configs/train.yaml``).
"""

from ssl_it.train import main

if __name__ == "__main__":
    main()
