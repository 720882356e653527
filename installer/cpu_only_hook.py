"""PyInstaller runtime hook of the CPU bundle: smart search runs on the CPU.

The CPU bundle leaves out the CUDA libraries PyTorch loads only for GPU work
(cuDNN's engines among them), so on a machine with an NVIDIA GPU the model
must not be sent there. ``SHOEBOX_DEVICE`` set by the person still wins.
"""

import os

os.environ.setdefault("SHOEBOX_DEVICE", "cpu")
