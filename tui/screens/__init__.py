"""The screens of the TUI, one module each; none imports another (shared styles and actions live in tui/)."""
