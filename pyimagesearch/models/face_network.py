# import the necessary packages
import keras

from pyimagesearch.models.layers import FlipAveraging
from pyimagesearch.models.small_vgg_network import build_small_vgg_model


def build_face_model(inputShape, embeddingDim=48):
    """Build a sister network for aligned faces (--images faces): small_vgg, each face
    embedded at inference as the mean of it and its mirror image (a face and its mirror are
    one person; training sees mirrored faces through its augmentation). An aligned face of
    inputShape in, an embeddingDim-long unit vector out; small_vgg's parameters, twice its
    computation at inference."""
    inputs = keras.Input(inputShape)
    network = build_small_vgg_model(inputShape, embeddingDim)
    outputs = FlipAveraging(network, name="flip_averaging")(inputs)
    return keras.Model(inputs, outputs, name="sister_network")
