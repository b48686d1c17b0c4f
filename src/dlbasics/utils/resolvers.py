"""OmegaConf resolvers the configs use; registered on import, before Hydra composes."""

import os

from omegaconf import OmegaConf

# The process id makes run dirs of two jobs started in the same second differ.
OmegaConf.register_new_resolver("pid", os.getpid, use_cache=True, replace=True)
