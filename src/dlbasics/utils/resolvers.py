"""OmegaConf resolvers the configs use; registered on import, before Hydra composes."""

import os

from omegaconf import OmegaConf

from dlbasics.sweeps.resume import choose_sweep_dir

# The process id makes run dirs of two jobs started in the same second differ.
OmegaConf.register_new_resolver("pid", os.getpid, use_cache=True, replace=True)
# The sweep dir (fresh, or the last one of the same sweep with resume=true); cached like
# ${now:} so every job of the sweep sees the dir the launcher chose.
OmegaConf.register_new_resolver("sweep_dir", choose_sweep_dir, use_cache=True, replace=True)
