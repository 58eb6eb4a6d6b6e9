"""Entry point of the detached worker process: `python -m engine.worker RUN_DIR`."""

import sys

from engine.worker.main import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
