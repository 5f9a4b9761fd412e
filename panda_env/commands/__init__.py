"""Helpers of the command line shared by its commands (``panda_env.cli``)."""
