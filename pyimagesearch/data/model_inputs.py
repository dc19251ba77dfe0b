"""Images as a trained model reads them: the files of --input (or of a gallery) loaded at the
model's size and colour mode, digits made to look like MNIST where the model was trained on
MNIST-style data. The test script and the search script load their images here, so that the
same file always gives the same pixels and the same score."""
import os
import re
from collections import Counter


def digit_model(metadata):
    """Whether a model was trained on MNIST-style digits (grayscale, no class folders): the
    models that --prepare's MNIST-style preparation is for."""
    return metadata["color_mode"] == "grayscale" and not metadata.get("class_names")


def face_model(metadata):
    """Whether a model was trained on aligned faces (--images faces): every photo it reads is
    its largest face, found and aligned the same way."""
    return metadata.get("images") == "faces"


def resolve_prepare(requested, metadata, modelPath, default):
    """--prepare as asked (True, False, or None for `default`), refused for colour models."""
    prepare = default if requested is None else requested
    if prepare and metadata["color_mode"] != "grayscale":
        raise ValueError(f"--prepare makes MNIST-style digits and applies to grayscale models "
                         f"only; {modelPath} takes {metadata['color_mode']} images")
    return prepare


def input_loader(metadata, prepare):
    """load(paths, folder, required=True): load_input_images at the model's size and colour
    mode (from its metadata), prepared like MNIST or not, or as faces for a face model."""
    size = tuple(metadata["input_shape"][:2])

    def load(paths, folder, required=True):
        return load_input_images(paths, folder, size, prepare, metadata["color_mode"],
                                 required, faces=face_model(metadata))
    return load


def load_input_images(paths, folder, size, prepare, colorMode="grayscale", required=True,
                      faces=False):
    """(names, images): the images at paths loaded at the model's size and colour mode, named
    relative to folder; in a folder (folder not None) unreadable files are skipped with a
    warning, a single bad file raises ValueError, and so does a folder with no usable image
    unless required is False. With faces, each image is the photo's largest face, aligned."""
    from pyimagesearch.data.images import load_image

    names, images, noted = [], [], []
    for path in paths:
        try:
            (image, notes) = load_image(path, size, prepare, colorMode, faces)
        except ValueError as e:
            if folder is None:
                raise
            print(f"[WARNING] skipping {e}")
            continue
        name = os.path.relpath(path, folder) if folder else os.path.basename(path)
        for note in notes:
            if note.startswith("the largest of"):
                # a gallery photo of a group enrols one of them: say which is kept
                print(f"[WARNING] {name}: {note}")
        if notes:
            noted.append((name, notes))
        names.append(name)
        images.append(image)
    if not images and required:
        raise ValueError(f"no usable images in {folder}")
    report_conversions(noted)
    return names, images


def report_conversions(noted, named=10):
    """Say what was done to each image; past `named` images, one line that counts each kind
    of conversion (a folder of photos for a colour model would otherwise print one per file)."""
    if len(noted) <= named:
        for (name, notes) in noted:
            print(f"[INFO] {name}: {', '.join(notes)}")
        return
    kinds = Counter(re.sub(r"from \d+x\d+ ", "", note) for (_, notes) in noted
                    for note in notes)
    print(f"[INFO] {len(noted)} images converted: "
          + ", ".join(f"{kind} ({count})" for (kind, count) in kinds.items()))
