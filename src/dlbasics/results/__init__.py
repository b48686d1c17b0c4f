"""Every number in the README comes from a command: the results manifest
(conf/results.yaml), the runner that writes one record per entry (logs/results/), and the
renderer that rewrites the README's results tables from those records."""
