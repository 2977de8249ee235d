"""KPI declarations (datasets/kpis.yaml): complete, consistent with the datasets, and refused when malformed."""
import re

import pytest
import yaml

import datasets
import datasets.kpis as kpis_module
from datasets import DeclarationError
from datasets.kpis import DIRECTIONS, PERIODS, load

ALL = list(kpis_module.kpis().values())

QUERIES = {
    "sr_median_days_to_close": "kpi_311_median_days_to_close",
    "sr_pct_closed_within_target": "kpi_311_pct_closed_within_target",
    "sr_open_backlog": "kpi_311_open_backlog",
    "snow_p1_serviced_within_target": "kpi_snow_p1_serviced_within_target",
    "volunteer_signups": "kpi_volunteer_signups",
    "volunteer_hours": "kpi_volunteer_hours",
}


def test_the_issue_kpis_are_declared_with_their_named_queries():
    assert {k.id: k.query for k in ALL} == QUERIES


@pytest.mark.parametrize("kpi", ALL, ids=lambda k: k.id)
def test_every_kpi_is_fully_described(kpi):
    assert kpi.name and kpi.description and kpi.unit and kpi.agency and kpi.formula and kpi.target_note
    assert kpi.direction in DIRECTIONS
    assert kpi.periods and set(kpi.periods) <= set(PERIODS)
    assert all(kpi.target_for(p) > 0 for p in kpi.periods)


@pytest.mark.parametrize("kpi", ALL, ids=lambda k: k.id)
def test_every_kpi_reads_declared_datasets_and_columns_its_formula_names(kpi):
    datasets.get(kpi.dataset)  # raises on an unknown dataset
    assert kpi.columns, "list the columns the formula reads"
    for ref in kpi.columns:
        ds, col = ref.split(".")
        assert col in datasets.get(ds).column_names, ref
        assert re.search(rf"\b{col}\b", kpi.formula), f"formula does not name {col}"
    for name in kpi.parameters:
        assert re.search(rf"\b{name}\b", kpi.formula), f"formula does not name {name}"


def test_directions_and_targets():
    get = datasets.kpi
    assert [get(k).direction for k in QUERIES] == ["lower_is_better", "higher_is_better", "lower_is_better",
                                                   "higher_is_better", "higher_is_better", "higher_is_better"]
    assert (get("sr_median_days_to_close").target, get("sr_pct_closed_within_target").target,
            get("snow_p1_serviced_within_target").target) == (3.0, 85.0, 90.0)


def test_the_snow_kpi_measures_from_the_storm_start_with_a_target_hours_parameter():
    snow = datasets.kpi("snow_p1_serviced_within_target")
    assert dict(snow.parameters) == {"target_hours": 6.0}
    assert "started + target_hours hours" in snow.formula and "route_priority = 1" in snow.formula


def test_a_single_target_serves_every_period_and_per_period_targets_differ():
    backlog, signups = datasets.kpi("sr_open_backlog"), datasets.kpi("volunteer_signups")
    assert {p: backlog.target_for(p) for p in PERIODS} == dict.fromkeys(PERIODS, 2000.0)
    assert {p: signups.target_for(p) for p in PERIODS} == {"day": 40.0, "week": 280.0, "month": 1200.0, "quarter": 3600.0}
    assert datasets.kpi("volunteer_hours").target_for("month") == 3600.0


def test_a_period_a_kpi_does_not_allow_is_an_error():
    with pytest.raises(ValueError, match="KPI 'volunteer_hours' is not scored by 'year'"):
        datasets.kpi("volunteer_hours").target_for("year")


def test_lookup_and_cache():
    assert kpis_module.kpis() is kpis_module.kpis()
    assert kpis_module.get("sr_open_backlog") is datasets.kpi("sr_open_backlog")
    with pytest.raises(KeyError, match="unknown KPI 'nope'; known: sr_median_days_to_close"):
        datasets.kpi("nope")


def test_kpis_yaml_is_not_read_as_a_dataset_and_the_module_is_not_shadowed():
    assert "kpis" not in datasets.datasets()
    assert callable(datasets.kpis.load)  # `datasets.kpis` is the module, not a re-exported function


# --- malformed declarations ---------------------------------------------------------------------

GOOD = {
    "id": "sr_closed", "name": "Requests closed", "description": "How many requests were closed.", "unit": "requests",
    "direction": "higher_is_better", "target": 10, "periods": ["day", "week"], "agency": "311",
    "dataset": "service_requests", "query": "kpi_sr_closed", "columns": ["service_requests.closed"],
    "formula": "Number of requests whose closed time falls in the period.",
}


@pytest.fixture
def write_kpis(tmp_path):
    """Write a kpis.yaml holding GOOD with `over` applied (a value of None deletes the key); return its path."""
    def write(*entries: dict, top: dict | None = None):
        path = tmp_path / "kpis.yaml"
        body = top if top is not None else {"kpis": [{k: v for k, v in {**GOOD, **e}.items() if v is not None} for e in entries]}
        path.write_text(yaml.safe_dump(body), encoding="utf-8")
        return path
    return write


def test_a_good_file_loads(write_kpis):
    kpi = load(write_kpis({}))["sr_closed"]
    assert (kpi.target_for("day"), kpi.columns, kpi.parameters) == (10.0, ("service_requests.closed",), {})


def test_a_bare_column_refers_to_the_kpis_own_dataset(write_kpis):
    assert load(write_kpis({"columns": ["closed"]}))["sr_closed"].columns == ("closed",)


@pytest.mark.parametrize("over, message", [
    ({"colour": "red"}, "KPI 'sr_closed': field 'colour' is not a KPI field"),
    ({"direction": "up"}, "KPI 'sr_closed': field 'direction' must be one of higher_is_better, lower_is_better"),
    ({"dataset": "parking_tickets"}, "KPI 'sr_closed': field 'dataset' names unknown dataset 'parking_tickets'"),
    ({"periods": ["day", "year"]}, "KPI 'sr_closed': field 'periods' must be a list of distinct periods"),
    ({"periods": "day"}, "field 'periods'"),
    ({"formula": None}, "KPI 'sr_closed': field 'formula' is missing"),
    ({"formula": ""}, "KPI 'sr_closed': field 'formula' is missing"),
    ({"name": None}, "field 'name' is missing"),
    ({"id": "Closed-Requests"}, "field 'id' must be lower_snake_case"),
    ({"query": "kpi closed"}, "field 'query' must be lower_snake_case"),
    ({"target": -1}, "field 'target' must be a non-negative number"),
    ({"target": "high"}, "field 'target' must be a non-negative number"),
    ({"target": True}, "field 'target' must be a non-negative number"),
    ({"target": {"day": 10}}, "field 'target' per-period targets must cover exactly the periods"),
    ({"target": {"day": 10, "week": 70, "year": 3650}}, "field 'target' per-period targets"),
    ({"target": {"day": 10, "week": "lots"}}, "field 'target.week' must be a non-negative number"),
    ({"columns": ["service_requests.closed_at"]}, "field 'columns' names 'service_requests.closed_at'"),
    ({"columns": ["parking.closed"]}, "field 'columns' names 'parking.closed'"),
    ({"columns": ["service_requests.due"]}, "field 'formula' must name the column 'due'"),
    ({"parameters": {"target_hours": 6}}, "field 'formula' must name the parameter 'target_hours'"),
    ({"parameters": {"target_hours": -6}, "formula": "closed within target_hours"}, "field 'parameters.target_hours'"),
])
def test_a_malformed_kpi_is_refused_naming_the_kpi_and_field(write_kpis, over, message):
    with pytest.raises(DeclarationError, match=re.escape(message)):
        load(write_kpis(over))


def test_errors_name_the_file(write_kpis):
    with pytest.raises(DeclarationError, match=r"^kpis\.yaml: KPI 'sr_closed'"):
        load(write_kpis({"direction": "sideways"}))


def test_duplicate_ids_and_shared_queries_are_refused(write_kpis):
    with pytest.raises(DeclarationError, match="KPI 'sr_closed': field 'id' is declared twice"):
        load(write_kpis({}, {"query": "kpi_other"}))
    with pytest.raises(DeclarationError, match="field 'query' 'kpi_sr_closed' is used by another KPI"):
        load(write_kpis({}, {"id": "other"}))


@pytest.mark.parametrize("top", [{}, {"kpis": {}}, {"kpis": [], "extra": 1}, {"metrics": []}])
def test_the_file_must_hold_one_kpis_list(write_kpis, top):
    with pytest.raises(DeclarationError, match="must hold exactly one key, 'kpis'"):
        load(write_kpis(top=top))


def test_each_entry_must_be_a_mapping(write_kpis):
    with pytest.raises(DeclarationError, match="each KPI must be a mapping"):
        load(write_kpis(top={"kpis": ["sr_closed"]}))
