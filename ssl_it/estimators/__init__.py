"""ssl_it.estimators"""
