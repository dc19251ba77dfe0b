"""Faces: finding them in a photo (OpenCV's YuNet detector, shipped beside this file) and
aligning each by its five landmarks to one template, so that a face model only ever sees
aligned faces.

May import numpy, OpenCV and the floor below it (config, cli, plotting); data/ reads
photos through it for a model trained with --images faces.
"""
