"""Training procedures: one job (fit, test the best checkpoint, record), k-fold
cross-validation, and the one test of a configuration a CV sweep selected."""
