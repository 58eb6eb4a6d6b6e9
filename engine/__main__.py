"""`python -m engine` behaves exactly like the `reins` command."""

from engine.cli.app import main

if __name__ == "__main__":
    main()
