"""ssl_it.augmentation"""
