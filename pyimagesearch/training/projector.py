"""Embeddings for TensorBoard's projector: a sample of images' embeddings with their labels
and a sprite of the images, so that `tensorboard --logdir DIR` shows them in 3-D (PCA, t-SNE,
UMAP) beside the training curves.

Written as the projector plugin reads it (a checkpoint holding the embeddings, metadata.tsv,
sprite.png and projector_config.pbtxt), with TensorFlow alone: the tensorboard package is
needed only to look.
"""
import os

import cv2
import numpy as np

# the largest sprite TensorBoard shows is 8192x8192 pixels
SPRITE_SIDE = 8192


def write_projector(logDir, embeddings, labels, images, classNames=None):
    """Write the projector's files for embeddings (n, d) of images (n, h, w, c) in [0, 1]
    with their labels into logDir/projector (the folder TensorBoard's --logdir points at
    is logDir)."""
    import tensorflow as tf

    folder = os.path.join(logDir, "projector")
    os.makedirs(folder, exist_ok=True)
    names = [str(classNames[label]) if classNames else str(label) for label in labels]
    with open(os.path.join(folder, "metadata.tsv"), "w") as f:
        f.write("".join(f"{name}\n" for name in names))
    (height, width) = images.shape[1:3]
    columns = int(np.ceil(np.sqrt(len(images))))
    scale = min(1.0, SPRITE_SIDE / (columns * max(height, width)))
    (height, width) = (max(1, int(height * scale)), max(1, int(width * scale)))
    sprite = np.ones((columns * height, columns * width, 3), np.float32)
    for (i, image) in enumerate(images):
        tile = cv2.resize(np.asarray(image, np.float32), (width, height))
        tile = np.repeat(tile[..., None], 3, axis=-1) if tile.ndim == 2 else tile
        (row, column) = divmod(i, columns)
        sprite[row * height:(row + 1) * height, column * width:(column + 1) * width] = tile
    cv2.imwrite(os.path.join(folder, "sprite.png"),
                cv2.cvtColor((sprite * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    checkpoint = tf.train.Checkpoint(embedding=tf.Variable(np.asarray(embeddings, np.float32)))
    checkpoint.save(os.path.join(folder, "embedding.ckpt"))
    # TensorBoard's projector looks in its runs only: the folders that hold an event file
    with tf.summary.create_file_writer(folder).as_default():
        tf.summary.text("embeddings", f"{len(labels)} images' embeddings", step=0)
    with open(os.path.join(folder, "projector_config.pbtxt"), "w") as f:
        f.write('embeddings {\n'
                '  tensor_name: "embedding/.ATTRIBUTES/VARIABLE_VALUE"\n'
                '  metadata_path: "metadata.tsv"\n'
                f'  sprite {{\n    image_path: "sprite.png"\n'
                f'    single_image_dim: {width}\n    single_image_dim: {height}\n  }}\n'
                '}\n')
    return folder
