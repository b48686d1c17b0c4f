"""Leaf helpers shared by every room: config reading and checks, run-dir files, loggers,
figures, the command-line wrapper. Nothing here imports from the rest of dlbasics."""
