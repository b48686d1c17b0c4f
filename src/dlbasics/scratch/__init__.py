"""From scratch: operators with their own forward and backward (no autograd inside), the
losses, initialisations and optimizers the books write by hand, and a gradient check.

Every piece is tested against ``torch.autograd`` and ``torch.optim``, so a student can
read the formula in the code and trust that it is the one the framework computes.
"""
