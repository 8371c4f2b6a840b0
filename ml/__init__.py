"""Framework-free machine learning for nstsite: style transfer (``ml.style``) and faces (``ml.faces``).

Nothing under ``ml/`` imports Django; everything is usable from a plain Python shell or CLI.
"""
