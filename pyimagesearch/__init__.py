"""Siamese networks with Keras and TensorFlow: the tutorial's package."""
