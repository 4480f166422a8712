"""Torch on one thread: the box is shared and the tests are tiny (threads only add overhead)."""

import torch

torch.set_num_threads(1)
