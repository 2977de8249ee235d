"""Dataset declarations: the single source of truth for schema, keys, licence and cadence."""
from datasets.registry import City, Column, Dataset, DeclarationError, cities, city, datasets, get

__all__ = ["City", "Column", "Dataset", "DeclarationError", "cities", "city", "datasets", "get"]
