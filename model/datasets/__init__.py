"""Public human-written datasets: the registry (`registry.yaml`), parsers and `python -m model datasets`."""

from model.datasets.parsers import load_items, read_entry
from model.datasets.registry import DatasetError, Entry, LabelMap, Registry, file_status

__all__ = [
    "DatasetError",
    "Entry",
    "LabelMap",
    "Registry",
    "file_status",
    "load_items",
    "read_entry",
]
