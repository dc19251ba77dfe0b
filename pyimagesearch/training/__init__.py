"""Training: the training script's flags and stages, its callbacks, the run's checkpoints
(--resume), tf.distribute (two-worker training) and TensorBoard's projector.

May import every floor below it (search/ for the metrics); nothing imports it but the scripts,
tools and benchmarks.
"""
