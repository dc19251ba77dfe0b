# import the necessary packages
import keras

from pyimagesearch.models.conv4_network import build_conv4_model
from pyimagesearch.models.layers import InkCentring, ShiftAveraging


def build_character_model(inputShape, embeddingDim=48):
    """Build a sister network for handwritten characters: conv4 (the few-shot literature's
    network) on drawings centred on their ink, embedding each drawing at inference as the
    mean over nine small shifts of it. An image of inputShape (bright ink on dark paper) in,
    an embeddingDim-long unit vector out; conv4's parameters, nine times its computation at
    inference."""
    inputs = keras.Input(inputShape)
    centred = InkCentring(name="ink_centring")(inputs)
    network = build_conv4_model(inputShape, embeddingDim)
    outputs = ShiftAveraging(network, name="shift_averaging")(centred)
    return keras.Model(inputs, outputs, name="sister_network")
