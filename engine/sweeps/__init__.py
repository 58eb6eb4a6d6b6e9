"""Sweeps: a grid of recipe settings (and seeds) run as ordinary queued runs, then ranked by their evaluation."""
