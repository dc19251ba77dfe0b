"""Searching a gallery with photos of people: every face a query photo holds is found,
aligned and answered on its own, largest first; the photo's own answer and neighbours are its
largest face's, so that a reader of one answer a photo keeps working."""
import numpy as np

from pyimagesearch.search.gallery_search import answer_queries


def photo_faces(paths, metadata, log=print):
    """[(photo, aligned faces, detections)] of each query photo at paths, read in the model's
    colour mode; a photo without a face, or a file that is not an image (its photo blank),
    gets one [WARNING] line and no faces."""
    from pyimagesearch.data.images import load_photo
    from pyimagesearch.faces.reading import aligned_faces

    size = tuple(metadata["input_shape"][:2])
    found = []
    for path in paths:
        try:
            photo = load_photo(path, metadata["color_mode"])
        except ValueError as e:
            log(f"[WARNING] skipping {e}")
            found.append((np.zeros(size, np.float32), [], []))
            continue
        (faces, detections) = aligned_faces(photo, size)
        if not faces:
            log(f"[WARNING] {path}: no face found")
        found.append((photo, faces, detections))
    return found


def answer_faces(model, load, index, gallery, names, photos, top, kind, threshold):
    """For each photo (photo_faces's), answer_queries's record of its largest face (answer
    None and no neighbours for a photo without a face), with "faces": every face's box [x, y,
    w, h] in the photo's pixels, its detection score, answer and neighbours, largest first."""
    faces = [face for (_, photoFaces, _) in photos for face in photoFaces]
    owners = [name for (name, (_, photoFaces, _)) in zip(names, photos) for _ in photoFaces]
    answered = (answer_queries(model, load, index, gallery, owners, faces, top, kind,
                               threshold) if faces else [])
    (results, start) = ([], 0)
    for (name, (_, photoFaces, detections)) in zip(names, photos):
        results.append(face_record(name, detections,
                                   answered[start:start + len(photoFaces)]))
        start += len(photoFaces)
    return results


def face_record(name, detections, answered):
    """The record of a photo named name from its faces' detections and answer_queries's
    answers (in the same order, largest first)."""
    faces = [{"box": [int(v) for v in detection["box"]],
              "detection": round(float(detection["score"]), 4),
              "answer": one["answer"], "neighbours": one["neighbours"]}
             for (detection, one) in zip(detections, answered)]
    return {"query": name, "answer": faces[0]["answer"] if faces else None,
            "neighbours": faces[0]["neighbours"] if faces else [], "faces": faces}


def largest_faces(photos, inputShape):
    """Each photo's largest aligned face (a blank image for a photo without one): what the
    search's figures show beside the neighbours."""
    return [faces[0] if faces else np.zeros(inputShape[:2] if inputShape[-1] == 1
                                            else inputShape, np.float32)
            for (_, faces, _) in photos]
