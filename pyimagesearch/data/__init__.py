"""Data: datasets (MNIST and its files, class folders, zips), the one image loader, the
augmentation, the tutorial's pairs and the samplers that make training batches.

May import the floors below it: config, cli, plotting and faces/.
"""
