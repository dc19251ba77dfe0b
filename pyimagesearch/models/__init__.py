"""Models: the recipes (one table of sister networks, one of losses), the sister networks,
their layers, the losses, the training views of a pair model, and the saved model's layout
on disk (model_io: the one place that knows it).

May import the floors below it: config, cli, plotting, faces/ and data/.
"""
