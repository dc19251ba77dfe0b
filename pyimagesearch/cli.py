"""What the command-line scripts share: how they end on bad input."""
import os
import sys


def run(main, interrupted="[ERROR] interrupted"):
    """Run a script's main(): bad input or a failed read or write ends with one [ERROR] line
    and exit status 1, never a traceback."""
    # TensorFlow is imported inside main, after this
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(interrupted)
    except (ValueError, OSError) as e:
        sys.exit(f"[ERROR] {e}")
