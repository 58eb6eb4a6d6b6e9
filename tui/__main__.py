"""`python -m tui` opens the Reins TUI."""

from tui.app import main

main()
