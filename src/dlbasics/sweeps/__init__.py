"""Multirun support: job bookkeeping (resume, failures), results tables, k-fold CV, Optuna."""
