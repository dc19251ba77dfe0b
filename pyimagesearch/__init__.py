"""Siamese networks with Keras and TensorFlow: the tutorial's package.

At the top, the tutorial's own modules (config.py, siamese_network.py, utils.py) and the two
every part uses (cli.py: how scripts end on bad input; plotting.py: every figure). The rest
lies in folders by concept, each with a docstring saying what it holds. Imports go one way,
from a floor to the floors below it (tests/test_layout.py holds this):

    0  config, cli, plotting      import nothing of the project but each other
    1  faces/                     finding and aligning faces
    2  data/                      datasets, class folders, image loading, augmentation, pairs
    3  models/                    recipes, sister networks, layers, losses, the saved model
    4  siamese_network, utils     the tutorial's pair model and helpers, over data/ and models/
    5  search/                    the index, galleries, recognition, one-shot runs, evaluation
    6  training/, serving/        the training script's stages; the HTTP service

The recipes table names each sister network's builder by "module:function", the tutorial's
own builder in siamese_network.py among them; it is imported only when a model is built.
"""
