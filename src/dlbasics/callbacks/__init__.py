"""Lightning callbacks: diagnostics and figures written into the run dir.

Import the callback you need from its own module (e.g.
``dlbasics.callbacks.fitted_curve``); configs under ``conf/callbacks/`` name
the full path so adding a callback never means editing this file.
"""
