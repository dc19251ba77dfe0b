"""Datasets that come as zip files (Omniglot's, for one): unpacked once into a cache folder,
then read as the class-folder tree inside.

The cache folder is named after the zip and its content's hash, so a changed zip is unpacked
anew and an unchanged one never twice. Only image files are unpacked, and only where their
path stays inside the folder; a half-unpacked folder never stands in for a whole one (it is
unpacked beside the cache and renamed into place).
"""
import hashlib
import os
import secrets
import shutil
import zipfile

from pyimagesearch.data.datasets import DatasetError
from pyimagesearch.data.images import IMAGE_EXTENSIONS


def cache_root():
    """Where unpacked datasets are kept: $XDG_CACHE_HOME/siamese-datasets (~/.cache/...)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "siamese-datasets")


def is_zip(path):
    """Whether path is a zip file (by its content, not its name), other than NumPy's .npz."""
    return (os.path.isfile(path) and not path.lower().endswith(".npz")
            and zipfile.is_zipfile(path))


def unpacked_zip(path, cacheRoot=None, log=print):
    """The folder of path's class-folder tree, unpacked into the cache on first use. A single
    folder that wraps everything in the zip (images_background_small1/ in Omniglot's) is
    stepped into, so that two zips of one dataset name their classes alike. Raises
    DatasetError for a zip that cannot be read or holds no image in a folder."""
    digest = _sha256(path)
    name = os.path.splitext(os.path.basename(path))[0]
    folder = os.path.join(cacheRoot or cache_root(), f"{name}-{digest[:12]}")
    if not os.path.isdir(folder):
        log(f"[INFO] unpacking {path} into {folder}...")
        _unpack(path, folder)
    entries = [entry for entry in os.scandir(folder) if not entry.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0].path
    return folder


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unpack(path, folder):
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    partial = f"{folder}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if _is_image_member(m)]
            if not any("/" in m.filename.strip("/") for m in members):
                raise DatasetError(f"{path} holds no class folders: no image file inside a "
                                   f"folder (expected FOLDER/CLASS/IMAGE.png or CLASS/IMAGE.png)")
            for member in members:
                target = os.path.join(partial, *member.filename.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with archive.open(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
        try:
            os.rename(partial, folder)
        except OSError:
            # another process unpacked the same zip first: its folder is as good as ours
            if not os.path.isdir(folder):
                raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as e:
        raise DatasetError(f"{path} is not a readable zip file ({e})") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _is_image_member(member):
    """An image file whose path cannot leave the folder it is unpacked into."""
    name = member.filename
    parts = name.split("/")
    return (not member.is_dir() and name.lower().endswith(IMAGE_EXTENSIONS)
            and not name.startswith("/") and "\\" not in name
            and not any(part in ("", ".", "..") or part.startswith(".") for part in parts)
            and "__MACOSX" not in parts)
