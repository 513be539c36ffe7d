"""ssl_it.data"""
