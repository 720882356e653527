"""Imports every module that registers operations, so ``operations.get`` knows them all."""

from desktop.core.processing import encoders, image_ops, meta_ops, video_ops  # noqa: F401
