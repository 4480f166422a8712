"""Shared plumbing for every simlab system: errors, configs, run folders, metrics,
checkpoints, progress bars and reports. No system logic lives here, and nothing here
imports JAX or PyTorch at module level.
"""
