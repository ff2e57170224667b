"""dbt node selection without dbt: the same answers as ``dbt ls``, clear errors, and a task plan (speed: benchmarks)."""

from __future__ import annotations

import json
import os

import pytest

from airflow_provider_dataeng.dbt.plan import render_plan, task_id_for
from airflow_provider_dataeng.dbt.selection import (
    NoNodesSelectedError,
    SelectableNode,
    SelectionError,
    SelectionGraph,
    select_nodes,
)
from airflow_provider_dataeng.dbt.selection_spec import SUPPORTED_METHODS, parse_selection
from tests.dbt.manifest_factory import generate_manifest
from tests.dbt.selection_project import FIXTURE, SELECTIONS, Dbt, make_project, trim

FIXTURE_DATA = json.loads(FIXTURE.read_text())
DBT_LS = FIXTURE_DATA["dbt_ls"]


def _kwargs(select: str | None, exclude: str | None) -> dict:
    if select and select.startswith("selector:"):
        return {"selector": select.removeprefix("selector:")}
    return {"select": select, "exclude": exclude}


def _short(unique_ids) -> list[str]:
    """model.dataeng_demo.dim_customer -> dim_customer (tests keep their hashless name)."""
    return sorted(
        uid.split(".")[2] if uid.startswith("test.") else uid.split(".", 2)[2] for uid in unique_ids
    )


@pytest.fixture(scope="module")
def demo() -> SelectionGraph:
    return SelectionGraph.from_manifest(FIXTURE_DATA)


@pytest.fixture(scope="module")
def big() -> SelectionGraph:
    return SelectionGraph.from_manifest(generate_manifest(500))


# ---- the same answer as dbt ls (recorded from dbt 1.11 on the example project plus extras) -------------------


@pytest.mark.parametrize("case", DBT_LS, ids=[f"{c['select']} --exclude {c['exclude']}" for c in DBT_LS])
def test_selection_equals_dbt_ls(demo: SelectionGraph, case: dict) -> None:
    chosen = select_nodes(demo, **_kwargs(case["select"], case["exclude"]))
    assert sorted(chosen.unique_ids) == case["unique_ids"]


def test_the_recorded_answers_cover_every_supported_method_and_operator() -> None:
    text = " ".join(f"{c['select']} {c['exclude']}" for c in DBT_LS)
    for method in SUPPORTED_METHODS:
        assert f"{method}:" in text or f"{method}." in text
    for operator in ("@", "+", "1+", "+1", ","):
        assert operator in text
    assert FIXTURE_DATA["metadata"]["dbt_version"] == "1.11.16"


# Each dbt ls takes about a second: CI asks dbt about every fifth selection, `make test-dbt-ls` about all.
LIVE_SELECTIONS = SELECTIONS if os.environ.get("DATAENG_DBT_LS_ALL") else SELECTIONS[::5]


@pytest.mark.integration
def test_live_dbt_ls_equals_the_engine_and_the_fixture(tmp_path) -> None:
    """Real dbt parse + dbt ls on a fresh copy of the project: the fixture is current and the engine agrees."""
    project, profiles = make_project(tmp_path)
    dbt = Dbt(project, profiles)
    manifest = dbt.manifest()
    assert trim(manifest)["nodes"].keys() == FIXTURE_DATA["nodes"].keys()
    graph = SelectionGraph.from_manifest(manifest)
    for select, exclude in LIVE_SELECTIONS:
        expected = dbt.ls(select, exclude)
        assert sorted(select_nodes(graph, **_kwargs(select, exclude)).unique_ids) == expected, (
            select,
            exclude,
        )
        recorded = next(c for c in DBT_LS if (c["select"], c["exclude"]) == (select, exclude))
        assert recorded["unique_ids"] == expected, (select, exclude)


# ---- selected sets spelled out (so a reader sees what dbt means) ----------------------------------------------


def test_a_model_brings_its_tests_and_parents_come_with_plus(demo: SelectionGraph) -> None:
    assert _short(select_nodes(demo, "1+fct_sales", exclude="resource_type:test").unique_ids) == [
        "dim_customer",
        "fct_sales",
        "stg_orders",
    ]
    tests = select_nodes(demo, "fct_sales,resource_type:test").unique_ids
    assert len(tests) == 9  # incl. relationships to dim_customer: a test of any selected node is selected


def test_cautious_indirect_selection_leaves_out_tests_of_unselected_nodes(demo: SelectionGraph) -> None:
    eager = select_nodes(demo, "fct_sales").unique_ids
    cautious = select_nodes(demo, "fct_sales", indirect_selection="cautious").unique_ids
    assert _short(eager - cautious) == ["relationships_fct_sales_customer_id__customer_id__ref_dim_customer_"]
    assert _short(select_nodes(demo, "fct_sales", indirect_selection="empty").unique_ids) == ["fct_sales"]


def test_an_empty_sql_node_is_never_selected() -> None:
    nodes = [
        SelectableNode("model.p.a", "a", "model", "p", ("p", "a"), empty=True),
        SelectableNode("model.p.b", "b", "model", "p", ("p", "b"), depends_on=("model.p.a",)),
    ]
    assert select_nodes(SelectionGraph(nodes), "+b").unique_ids == {"model.p.b"}


def test_versioned_models_answer_to_name_and_version() -> None:
    nodes = [
        SelectableNode("model.p.orders.v1", "orders", "model", "p", ("p", "orders", "v1"), version=1),
        SelectableNode("model.p.orders.v2", "orders", "model", "p", ("p", "orders", "v2"), version=2),
    ]
    graph = SelectionGraph(nodes)
    assert select_nodes(graph, "orders").unique_ids == {"model.p.orders.v1", "model.p.orders.v2"}
    assert select_nodes(graph, "orders_v2").unique_ids == {"model.p.orders.v2"}
    assert select_nodes(graph, "orders.v1").unique_ids == {"model.p.orders.v1"}


# ---- errors ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("select", "message"),
    [
        (
            "state:modified",
            "method 'state' is not supported here; supported methods: fqn, tag, path, file, config",
        ),
        ("colour:red", "method 'colour' is not a dbt selection method; supported methods: fqn, tag,"),
        ("config:table", "config needs a key, for example config.materialized:table"),
        ("@stg_orders+", 'the "@" prefix and the "+" suffix exclude each other'),
        ("resource_type:modle", "resource_type must be one of model, analysis, test"),
        ("source:a.b.c.d", "source takes source, source.table or package.source.table"),
        ("tag:", "no value to select on"),
    ],
)
def test_a_bad_selection_fails_before_any_manifest_is_read(select: str, message: str) -> None:
    with pytest.raises(SelectionError, match="^.*" + message.replace("(", r"\(").replace("+", r"\+")):
        parse_selection(select)
    assert issubclass(SelectionError, ValueError)


def test_a_component_that_matches_nothing_is_named(demo: SelectionGraph) -> None:
    with pytest.raises(NoNodesSelectedError) as error:
        select_nodes(demo, "stg_orders stg_ordrs tag:nope")
    assert error.value.unmatched == ("stg_ordrs", "tag:nope")
    assert str(error.value) == (
        "dbt selection --select stg_orders stg_ordrs tag:nope: 'stg_ordrs', 'tag:nope' matched no node in the "
        "manifest (check the names, tags and paths against the project)."
    )
    relaxed = select_nodes(demo, "stg_orders stg_ordrs", strict=False)
    assert relaxed.unmatched == ("stg_ordrs",)
    assert "model.dataeng_demo.stg_orders" in relaxed.unique_ids


def test_excluding_nothing_is_reported_but_not_an_error(demo: SelectionGraph) -> None:
    chosen = select_nodes(demo, "stg_orders", exclude="tag:retired")
    assert chosen.unmatched == ("tag:retired",)
    assert len(chosen.unique_ids) == 9


def test_a_selection_left_empty_by_its_exclusions_is_an_error(demo: SelectionGraph) -> None:
    with pytest.raises(
        NoNodesSelectedError, match=r"^dbt selection --select stg_orders --exclude stg_orders matched"
    ):
        select_nodes(demo, "stg_orders", exclude="stg_orders")


def test_selector_errors(demo: SelectionGraph) -> None:
    with pytest.raises(SelectionError, match="selector cannot be combined with select or exclude"):
        select_nodes(demo, "stg_orders", selector="nightly")
    with pytest.raises(
        SelectionError, match="selector 'nighty' is not defined; the project's selectors: around_"
    ):
        select_nodes(demo, selector="nighty")
    looping = SelectionGraph(
        demo.nodes.values(),
        selectors={"selectors": [{"name": "a", "definition": {"method": "selector", "value": "a"}}]},
    )
    with pytest.raises(SelectionError, match="selector 'a' refers to itself: a -> a"):
        select_nodes(looping, selector="a")


def test_a_default_selector_applies_when_nothing_is_selected(demo: SelectionGraph) -> None:
    selectors = {"selectors": [{"name": "snap", "default": True, "definition": "resource_type:snapshot"}]}
    graph = SelectionGraph(demo.nodes.values(), project_name="dataeng_demo", selectors=selectors)
    assert select_nodes(graph).unique_ids == {"snapshot.dataeng_demo.customers_snapshot"}
    assert select_nodes(graph).description == "--selector snap (the default)"
    assert len(select_nodes(graph, "stg_orders").unique_ids) == 9


# ---- the generated 500-model manifest: answers checked against brute force, and the time it takes ---------------


def _ancestors(graph: SelectionGraph, uid: str) -> set[str]:
    return {p for parent in graph.parents[uid] for p in {parent} | _ancestors(graph, parent)}


def _descendants(graph: SelectionGraph, uid: str) -> set[str]:
    return {c for child in graph.children[uid] for c in {child} | _descendants(graph, child)}


def _with_tests(graph: SelectionGraph, chosen: set[str]) -> set[str]:
    return chosen | {
        uid for uid, n in graph.nodes.items() if n.resource_type == "test" and set(n.depends_on) & chosen
    }


def test_generated_manifest_answers_match_brute_force(big: SelectionGraph) -> None:
    models = {uid: n for uid, n in big.nodes.items() if n.resource_type == "model"}
    assert len(models) == 500
    tagged = {uid for uid, n in big.nodes.items() if "finance" in n.tags}
    assert select_nodes(big, "tag:finance").unique_ids == _with_tests(big, tagged)
    marts = {uid for uid, n in big.nodes.items() if n.original_file_path.startswith("models/marts/sales/")}
    assert select_nodes(big, "path:models/marts/sales", exclude="resource_type:test").unique_ids == {
        uid for uid in marts if big.nodes[uid].resource_type == "model"
    }
    incremental = {uid for uid, n in models.items() if n.config["materialized"] == "incremental"}
    assert select_nodes(big, "config.materialized:incremental").unique_ids == _with_tests(big, incremental)
    mart = max(n.name for n in models.values() if n.name.startswith("fct_"))
    mart_id = f"model.bigco.{mart}"
    assert select_nodes(big, f"+{mart}").unique_ids == _with_tests(big, {mart_id} | _ancestors(big, mart_id))
    source = "source.bigco.crm.orders"
    assert select_nodes(big, "source:crm.orders+").unique_ids == _with_tests(
        big, {source} | _descendants(big, source)
    )
    one_up = {mart_id, *big.parents[mart_id]}
    # Both sides of an intersection bring their tests, so the tests of the models in both stay.
    assert select_nodes(big, f"1+{mart},resource_type:model").unique_ids == _with_tests(
        big, one_up
    ) & _with_tests(big, set(models))
    assert select_nodes(big, f"1+{mart},resource_type:model", indirect_selection="empty").unique_ids == {
        uid for uid in one_up if uid in models
    }


# ---- render_plan -----------------------------------------------------------------------------------------------


def _plan(graph: SelectionGraph, select: str | None, tests: str):
    return render_plan(graph, select_nodes(graph, select).unique_ids, tests)


def test_plan_edges_are_the_manifest_dependencies_among_selected_models(demo: SelectionGraph) -> None:
    plan = _plan(demo, "+fct_sales", "none")
    assert plan.task_ids == ("stg_customers", "stg_orders", "dim_customer", "fct_sales")
    assert plan.edges == (
        ("dim_customer", "fct_sales"),
        ("stg_customers", "dim_customer"),
        ("stg_orders", "dim_customer"),
        ("stg_orders", "fct_sales"),
    )


def test_plan_keeps_the_order_through_models_left_out(demo: SelectionGraph) -> None:
    """stg_orders -> dim_customer/fct_sales -> fct_revenue: fct_revenue still waits for stg_orders (dbt does too)."""
    plan = _plan(demo, "stg_orders fct_revenue", "none")
    assert plan.edges == (("stg_orders", "fct_revenue"),)


def test_plan_tests_after_each_belong_to_their_nodes_task(demo: SelectionGraph) -> None:
    """A node's tests run in the node's own task (and fail it), so its children wait for them."""
    plan = _plan(demo, "stg_orders fct_revenue", "after_each")
    assert plan.task_ids == ("stg_orders", "fct_revenue")
    assert plan.edges == (("stg_orders", "fct_revenue"),)
    stg_orders = plan.task_for("model.dataeng_demo.stg_orders")
    assert stg_orders.unique_ids[0] == "model.dataeng_demo.stg_orders"
    assert [uid.split(".")[0] for uid in stg_orders.unique_ids[1:]] == ["test"] * 8
    assert stg_orders.resource_type == "model"


def test_plan_relationship_test_runs_after_the_later_model_and_source_tests_first(
    demo: SelectionGraph,
) -> None:
    plan = _plan(demo, None, "after_each")
    relationship = (
        "test.dataeng_demo.relationships_fct_sales_customer_id__customer_id__ref_dim_customer_.f432b66392"
    )
    assert plan.task_for(relationship).task_id == "fct_sales"
    assert ("staging_orders_test", "stg_orders") in plan.edges
    assert ("staging_customers_test", "customers_snapshot") in plan.edges
    assert ("dim_customer", "fct_sales") in plan.edges
    assert [t.task_id for t in plan.tasks if t.resource_type == "test"] == [
        "staging_customers_test",
        "staging_orders_test",
    ]


def test_plan_tests_after_all_and_none(demo: SelectionGraph) -> None:
    plan = _plan(demo, "+fct_sales", "after_all")
    assert plan.task_ids[-1] == "tests"
    assert ("fct_sales", "tests") in plan.edges
    assert len(plan.tasks[-1].unique_ids) == 33
    assert [t.resource_type for t in _plan(demo, "+fct_sales", "none").tasks] == ["model"] * 4
    with pytest.raises(
        ValueError, match="tests must be one of after_each, after_all, none; got 'afterwards'"
    ):
        render_plan(demo, [], "afterwards")


def test_plan_task_ids_are_qualified_only_when_names_collide() -> None:
    nodes = [
        SelectableNode(
            "model.analytics.dim_customer", "dim_customer", "model", "analytics", ("analytics", "x")
        ),
        SelectableNode("model.analytics.orders", "orders", "model", "analytics", ("analytics", "orders")),
        SelectableNode("model.shop.orders", "orders", "model", "shop", ("shop", "orders")),
        SelectableNode("seed.shop.codes", "codes", "seed", "shop", ("shop", "codes")),
        SelectableNode("snapshot.shop.codes", "codes", "snapshot", "shop", ("shop", "codes")),
    ]
    plan = render_plan(SelectionGraph(nodes), [n.unique_id for n in nodes], "none")
    assert sorted(plan.task_ids) == [
        "analytics__orders",
        "dim_customer",
        "seed__shop__codes",
        "shop__orders",
        "snapshot__shop__codes",
    ]
    assert task_id_for("orders.v2 (beta)") == "orders_v2__beta_"
    long = task_id_for("x" * 300)
    assert len(long) == 200 and long.startswith("x" * 191 + "_")


def test_plan_of_500_models_has_exactly_the_manifest_edges(big: SelectionGraph) -> None:
    everything = select_nodes(big).unique_ids
    plan = render_plan(big, everything, "none")
    runs = {uid for uid in everything if big.nodes[uid].resource_type in ("model", "seed", "snapshot")}
    expected = {
        (big.nodes[p].name, big.nodes[uid].name) for uid in runs for p in big.parents[uid] if p in runs
    }
    assert set(plan.edges) == expected
    assert len(plan.tasks) == len(runs) == 510
    with_tests = render_plan(big, everything, "after_each")
    assert sorted(uid for t in with_tests.tasks for uid in t.unique_ids) == sorted(
        uid for uid in everything if big.nodes[uid].resource_type != "source"
    )
    assert set(plan.task_ids) <= set(with_tests.task_ids)
