"""What the command-line scripts share: how they end on bad input, and how quiet they are."""
import os
import sys
import warnings


def run(main, interrupted="[ERROR] interrupted"):
    """Run a script's main(): bad input or a failed read or write ends with one [ERROR] line
    and exit status 1, never a traceback."""
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(interrupted)
    except (ValueError, OSError) as e:
        sys.exit(f"[ERROR] {e}")


def add_verbose_argument(ap):
    """Add --verbose to an ArgumentParser."""
    ap.add_argument("--verbose", action="store_true",
                    help="show TensorFlow's own log lines and library warnings (hidden by "
                         "default unless TF_CPP_MIN_LOG_LEVEL is set)")


def quiet_tensorflow(verbose=False):
    """Load TensorFlow without its C++ log lines and hide library warnings, unless verbose
    or the user chose a TF_CPP_MIN_LOG_LEVEL; the scripts' own lines and Keras's progress
    stay. Call it before anything imports TensorFlow."""
    if verbose or "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    warnings.filterwarnings("ignore")
    # the lines TensorFlow logs while it loads (oneDNN, CUDA) come before its logging reads
    # that level, so stderr itself is closed for the import, then given back
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
