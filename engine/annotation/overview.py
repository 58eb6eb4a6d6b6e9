"""What `reins data annotations ls` and the TUI's Data screen show per set: its origin, size and each annotator's
progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.annotation.export import annotators
from engine.annotation.session import Session
from engine.annotation.sets import AnnotationSet


@dataclass(frozen=True)
class SetOverview:
    id: str
    name: str
    kind: str  # file or run
    source: str
    items: int
    created: str
    done: dict[str, int] = field(default_factory=dict)  # annotator → items handled

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "source": self.source, "items": self.items,
                "created": self.created, "done": self.done}


def overview(aset: AnnotationSet) -> SetOverview:
    info = aset.info()
    return SetOverview(aset.id, str(info.get("name", aset.id)), str(info.get("kind", "file")),
                       str(info.get("source", "")), int(info.get("items", 0)), str(info.get("created", "")),
                       {name: Session(aset, name).done for name in annotators(aset)})
