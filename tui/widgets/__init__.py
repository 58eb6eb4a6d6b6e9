"""The widgets screens are built of: metric charts, the runs table, the samples pane, the VRAM panel."""
