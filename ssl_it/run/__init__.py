"""A run's plumbing: its folder, names, log, checkpoints, loggers, resume, end and the files it leaves.

Nothing here trains or measures; ``ssl_it.train`` wires these pieces around
the Lightning trainer. The modules that read a run's files back
(:mod:`ssl_it.run.summary`, :mod:`ssl_it.run.segments`,
:mod:`ssl_it.run.trajectory`) import neither torch nor Lightning, so result
scripts start in seconds.
"""
