"""ssl_it: self-supervised learning studied through information theory."""

__version__ = "0.1.0"
