"""Datasets on disk: the dataset directory format, video decoding, clip sampling, builders."""
