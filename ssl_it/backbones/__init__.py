"""ssl_it.backbones"""
