"""Dataset declarations are the single source of truth: they must be complete and consistent."""
import pytest

import datasets
from datasets.registry import DeclarationError, _column
from etl import formats

ALL = list(datasets.datasets().values())


def test_the_issue_datasets_are_declared():
    assert {"service_requests", "snow_segments", "snow_storms", "plow_activity",
            "volunteer_opportunities", "volunteer_signups"} <= set(datasets.datasets())


@pytest.mark.parametrize("ds", ALL, ids=lambda d: d.name)
def test_every_column_is_described_and_typed(ds):
    for col in ds.columns:
        assert col.description.strip(), col.name
        assert col.type in datasets.registry.DUCKDB_TYPES


@pytest.mark.parametrize("ds", ALL, ids=lambda d: d.name)
def test_catalog_fields_are_present(ds):
    assert ds.publisher and ds.licence_name and ds.licence_url.startswith("https://")
    assert ds.update_cadence and ds.primary_key and ds.source_formats
    assert "plain" in ds.source_formats


@pytest.mark.parametrize("ds", ALL, ids=lambda d: d.name)
def test_source_formats_named_by_a_dataset_exist_and_load_it(ds):
    for name in ds.source_formats:
        if name == "plain":
            continue
        assert name in formats.formats(), f"{ds.name} names unknown format {name}"
        variants = [f for f in formats.formats().values() if f.name.startswith(name) and f.dataset == ds.name]
        assert variants, f"no {name}* format loads {ds.name}"


def test_personal_fields_are_not_public():
    assert not datasets.get("service_requests").column("reporter_phone").public
    assert not datasets.get("volunteer_signups").column("volunteer_id").public
    assert not datasets.get("volunteer_opportunities").column("contact_email").public


def test_snow_kpi_is_computable_from_the_declarations():
    """'% of priority-1 segments serviced within N hours of a storm's start' needs these columns."""
    assert {"segment_id", "route_priority"} <= set(datasets.get("snow_segments").column_names)
    assert {"storm_id", "started"} <= set(datasets.get("snow_storms").column_names)
    assert {"segment_id", "storm_id", "last_serviced", "passes", "observed_at"} <= set(datasets.get("plow_activity").column_names)


@pytest.mark.parametrize("bad, message", [
    ({"name": "x", "type": "text", "description": "d"}, "type"),
    ({"name": "X", "type": "string", "description": "d"}, "lower_snake_case"),
    ({"name": "x", "type": "string"}, "description"),
    ({"name": "x", "type": "string", "description": "d", "colour": "red"}, "unknown column keys"),
    # free text (issue 13, decision 0014): a public string with no fixed form
    ({"name": "x", "type": "integer", "description": "d", "free_text": True}, "free text is a string"),
    ({"name": "x", "type": "string", "description": "d", "free_text": True, "public": False}, "not public"),
    ({"name": "x", "type": "string", "description": "d", "free_text": True, "allowed": ["a"]}, "has 'allowed'"),
    ({"name": "x", "type": "string", "description": "d", "free_text": True, "pattern": "^a$"}, "has 'pattern'"),
    ({"name": "x", "type": "string", "description": "d", "free_text": "yes"}, "free_text must be true"),
])
def test_a_malformed_column_is_refused_at_load_time(bad, message):
    with pytest.raises(DeclarationError, match=message):
        _column(bad, "test.yaml")


def test_the_free_text_columns_are_the_ones_people_write():
    """Issue 13: notes written by staff, residents and organisers carry phone numbers and addresses."""
    free = {ds.name: [c.name for c in ds.free_text_columns] for ds in ALL if ds.free_text_columns}
    assert free == {"service_requests": ["descriptor", "resolution_description"],
                    "volunteer_opportunities": ["title", "summary"]}


def test_a_free_text_column_is_declared_in_yaml_and_read_into_the_dataclass():
    col = _column({"name": "x", "type": "string", "description": "d", "free_text": True}, "test.yaml")
    assert col.free_text is True
    assert _column({"name": "x", "type": "string", "description": "d"}, "test.yaml").free_text is False


def test_the_311_alias_uses_the_field_names_the_socrata_source_format_reads():
    # Issue 18: a script written for NYC's portal (erm2-nwe9) names fields as that portal's API does,
    # and etl/formats/nyc311_socrata.yaml reads exactly those names in: the two must agree.
    ds = datasets.get("service_requests")
    assert ds.socrata.id == "erm2-nwe9" and datasets.by_soda_id("erm2-nwe9") is ds
    read_in = {m.target: m.source for m in formats.formats()["nyc311_socrata"].columns}
    aliased = {f.column: f.name for f in ds.soda_fields if f.column}
    assert aliased == {col: read_in[col] for col in aliased}
    assert [f.point for f in ds.soda_fields if f.point] == [("latitude", "longitude")]


@pytest.mark.parametrize("socrata, message", [
    ({"id": "ERM2-NWE9", "fields": {}}, "an id like"),
    ({"id": "erm2-nwe9", "fields": {"phone": "reporter_phone"}}, "not a public column"),
    ({"id": "erm2-nwe9", "fields": {"where": {"point": ["borough", "latitude"]}}}, "number columns"),
    ({"id": "erm2-nwe9", "fields": {"unique_key": "request_id"}}, "leave out public columns"),
])
def test_a_malformed_socrata_alias_is_refused_at_load_time(tmp_path, socrata, message):
    import yaml

    from datasets.registry import HERE, _dataset

    raw = yaml.safe_load((HERE / "service_requests.yaml").read_text())
    (tmp_path / "service_requests.yaml").write_text(yaml.safe_dump({**raw, "socrata": socrata}))
    with pytest.raises(DeclarationError, match=message):
        _dataset(tmp_path / "service_requests.yaml")
