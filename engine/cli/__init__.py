"""The `reins` command line: typer commands that parse arguments, call `engine.api` and render with rich."""
