"""Reading finished runs: comparing runs, seed bands and information-plane figures.

Imports neither torch nor Lightning (an import-linter contract keeps it so).
"""
