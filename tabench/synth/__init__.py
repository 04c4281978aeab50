"""Syn-TA: synthetic 3D-object motion videos (scene description, motion programs, renderer, generator)."""
