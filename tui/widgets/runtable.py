"""A DataTable for many one-line rows in fixed-width columns, which skips measuring every cell it is given."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class RunTable(DataTable):  # type: ignore[type-arg]
    """The Runs table. DataTable measures each new cell to size auto-width columns and auto-height rows, about
    0.15 ms a row of 13 cells: 150 ms for 1,000 runs, spent again on every batch of rows. With every column at a
    fixed width and every row one line high, the measures cannot change anything, so only the scrollable size is
    recomputed. Any auto-width column or labelled/auto-height row falls back to DataTable's own code."""

    def add_batch(self, rows: Iterable[tuple[list[Any], str]]) -> None:
        """Add (cells, key) rows and size the table at once, so the first layout already has the scrollbar that
        1,000 rows need (sized later, on idle, the scrollbar's arrival narrows the table and repaints it all)."""
        for cells, key in rows:
            self.add_row(*cells, key=key)
        if self._fixed():
            self._size_now()

    def _fixed(self, keys: Iterable[RowKey] | None = None) -> bool:
        if any(c.auto_width for c in self.columns.values()):
            return False
        rows = self.rows.values() if keys is None else (self.rows.get(k) for k in keys)
        return not any(row is not None and (row.label is not None or row.auto_height) for row in rows)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        rows = list(new_rows)
        if not self._fixed(rows):
            super()._update_dimensions(rows)
            return
        self._size_now()

    def _size_now(self) -> None:
        width = sum(c.get_render_width(self) for c in self.columns.values()) + self._row_label_column_width
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width, self._total_row_height + header)
