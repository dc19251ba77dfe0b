"""Draw a saved model's embeddings of a dataset's test images in 2-D, one colour per class.

    python -m tools.plot_embeddings --model output/siamese_model --dataset mnist.npz
    python -m tools.plot_embeddings --model output/small_vgg_siamese_model --dataset mnist.npz \\
        --method tsne --output small_vgg_tsne.png

The images go through the SavedModel's `embed` endpoint (tools/upgrade_model.py adds it to a
model saved before it existed); PCA or t-SNE (scikit-learn) projects them to 2-D.
"""
import argparse

from pyimagesearch import config
from pyimagesearch.cli import add_verbose_argument, quiet_tensorflow, run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=config.MODEL_PATH,
                    help=f"SavedModel directory (default: {config.MODEL_PATH})")
    ap.add_argument("--dataset", default="mnist",
                    help="as for train_siamese_network.py: mnist, a .npz, an IDX folder, or "
                         "class folders with a test/ folder; its test images are drawn "
                         "(default: mnist)")
    ap.add_argument("--count", type=int, default=2000,
                    help="images to draw, evenly over the classes (default: 2000)")
    ap.add_argument("--method", choices=config.PROJECTIONS, default="pca",
                    help="projection to 2-D (default: pca)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the draw (default: 0)")
    ap.add_argument("--output", default="embeddings.png",
                    help="PNG file to write (default: embeddings.png)")
    add_verbose_argument(ap)
    args = ap.parse_args()
    if args.count < 3:
        ap.error("--count must be at least 3")

    quiet_tensorflow(args.verbose)
    from pyimagesearch.data.image_folders import load_test_dataset
    from pyimagesearch.data.model_inputs import face_model
    from pyimagesearch.data.pairs import load_images
    from pyimagesearch.data.samplers import sample_per_class
    from pyimagesearch.models.model_io import SiameseModel
    from pyimagesearch.plotting import plot_embeddings

    model = SiameseModel(args.model)
    (testX, testY) = load_test_dataset(args.dataset, model.input_shape,
                                       faces=face_model(model.metadata))
    shown = sample_per_class(testY, args.count, args.seed)
    embeddings = model.embed(load_images(testX, shown))
    plot_embeddings(embeddings, testY[shown], args.output,
                    classNames=model.metadata.get("class_names"), method=args.method,
                    title=f"Embeddings of {len(shown)} test images")
    print(f"[INFO] {len(shown)} test images' embeddings ({embeddings.shape[1]}-D) drawn to "
          f"{args.output}")


if __name__ == "__main__":
    run(main)
