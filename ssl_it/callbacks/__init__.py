"""ssl_it.callbacks"""
