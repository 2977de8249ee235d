"""Dataset declarations: the single source of truth for schema, keys, licence and cadence."""
from datasets.kpis import Kpi
from datasets.kpis import get as kpi
from datasets.registry import City, Column, Dataset, DeclarationError, SodaField, by_soda_id, cities, city, datasets, get

# `datasets.kpis` stays the module (kpis.kpis(), kpis.get()): re-exporting a function named `kpis`
# here would shadow it, so `import datasets.kpis as m` would hand back the function.
__all__ = ["City", "Column", "Dataset", "DeclarationError", "Kpi", "SodaField", "by_soda_id", "cities", "city", "datasets", "get", "kpi"]
