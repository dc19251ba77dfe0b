"""What the server takes from a client: uploaded images (their kind and size read from the
header before anything is decoded, kept re-encoded), labels that are plain, unambiguous class
names, and the error that tells the client why a request was refused."""
import io
import os
import re
import unicodedata

# uploads decoded at most this many pixels: the header says how many before anything is decoded
MOST_PIXELS = 40_000_000
# nor more than this many bytes once decoded (pixels x channels x bytes a sample): a small
# file can decode to gigabytes (a 300 KB PNG to 6300x6300 16-bit RGBA, 318 MB), and what the
# model reads (a face, or an image of at most a few hundred pixels a side) needs far less
MOST_DECODED_BYTES = 64 * 2 ** 20
# a label is one folder name of the gallery: at most this many characters, and at most
# NAME_BYTES bytes in UTF-8 (what a file system takes for one name)
MOST_LABEL_LENGTH = 100
NAME_BYTES = 255
# what no label holds: control and format characters (U+0085, U+202E, U+200B, ...), line and
# paragraph separators, surrogates, private use and unassigned code points; each can make a
# class look like another or hide part of its name
REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
# the kinds of image the server takes (Pillow reads their header), with their file extension;
# MPO is a camera's multi-picture JPEG, read as its first picture
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "MPO": ".jpg", "BMP": ".bmp", "TIFF": ".tif",
           "WEBP": ".webp", "PPM": ".ppm"}
TAKEN = "PNG, JPEG, BMP, TIFF, WebP or PPM"


class RequestError(ValueError):
    """A request the service refuses: status is the HTTP status that says why."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def image_format(data, mostPixels=MOST_PIXELS, mostDecoded=MOST_DECODED_BYTES):
    """The format of an uploaded image (a key of FORMATS), from its header alone: RequestError
    when it is not an image the server takes (415), or would decode to more than mostPixels
    pixels or mostDecoded bytes (413: a decompression bomb is refused before it is
    decoded)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            (width, height, kind) = (*image.size, image.format)
            decoded = width * height * channels_of(image) * sample_bytes(image, data)
    except Image.DecompressionBombError:
        raise RequestError(f"the image has more than {mostPixels:,} pixels", 413) from None
    except Exception:  # Pillow raises many kinds for what is not an image
        raise RequestError(f"not an image ({TAKEN})", 415) from None
    if kind not in FORMATS:
        raise RequestError(f"{kind} images are not taken: {TAKEN}", 415)
    if width * height > mostPixels:
        raise RequestError(f"the image is {width}x{height}: more than {mostPixels:,} pixels",
                           413)
    if decoded > mostDecoded:
        raise RequestError(f"the image is {width}x{height} and decodes to {decoded:,} bytes: "
                           f"more than the server's {mostDecoded:,}", 413)
    return kind


def channels_of(image):
    """The channels OpenCV decodes a Pillow image's file to (a palette to colour and alpha)."""
    return 4 if image.mode in ("P", "PA") else len(image.getbands())


def sample_bytes(image, data):
    """Bytes a sample of the decoded image: Pillow reads 16-bit colour PNGs and TIFFs as 8-bit
    modes, so the depth is read off the file's own header there."""
    if image.format == "PNG" and len(data) > 24:
        return 2 if data[24] == 16 else 1  # the bit depth field of the IHDR chunk
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, (8,))
        return -(-max(bits if isinstance(bits, tuple) else (bits,)) // 8)
    return {"I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "I": 4, "F": 4}.get(image.mode, 1)


def reencoded(data, kind):
    """The upload decoded and encoded again in its format (JPEG at quality 95): what the
    gallery keeps, never the client's bytes as they came (a PNG with an HTML page after its
    end is kept as the image alone)."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise RequestError(f"not an image ({TAKEN})", 415)
    options = [cv2.IMWRITE_JPEG_QUALITY, 95] if FORMATS[kind] == ".jpg" else []
    (ok, encoded) = cv2.imencode(FORMATS[kind], image, options)
    if not ok:
        raise RequestError(f"the image could not be stored as {kind}", 415)
    return encoded.tobytes()


def check_label(label):
    """A label must be one plain folder name, and one that looks like no other: returns it
    NFC-normalised (one way of writing each accented letter), RequestError otherwise. Never a
    path that could lead elsewhere, never a character that hides or reorders what is shown."""
    label = unicodedata.normalize("NFC", label or "")
    refused = [character for character in label
               if unicodedata.category(character) in REFUSED_CATEGORIES]
    if (not label or len(label) > MOST_LABEL_LENGTH or label.startswith(".")
            or len(label.encode("utf-8")) > NAME_BYTES or re.search(r"[/\\]", label)
            or refused or label != label.strip()):
        shown = label.encode("unicode_escape").decode("ascii")
        raise RequestError(f"label '{shown}' is not a class name: 1 to {MOST_LABEL_LENGTH} "
                           f"characters ({NAME_BYTES} bytes in UTF-8), no slashes, control "
                           f"or format characters, no space at either end, not starting "
                           f"with a dot")
    return label


def upload_name(filename, kind):
    """The file name an upload is kept under: its own stem made safe, the format's extension."""
    stem = os.path.splitext(os.path.basename(filename or ""))[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60] or "image"
    return stem + FORMATS[kind]
