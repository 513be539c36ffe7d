"""The shipped W&B chart (Vega-Lite) and workspace layout fit the trajectory rows the callback logs."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from ssl_it.callbacks.infoplane.sinks import WANDB_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
_SPEC = importlib.util.spec_from_file_location("wandb_dashboard", ROOT / "scripts" / "wandb_dashboard.py")
assert _SPEC is not None and _SPEC.loader is not None
wandb_dashboard = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(wandb_dashboard)


def _filled_spec(layout: dict) -> dict:
    text = (ROOT / "docs" / "wandb" / layout["chart"]["spec"]).read_text()
    for name, column in layout["chart"]["fields"].items():
        text = text.replace(f"${{field:{name}}}", column)
    for name, value in layout["chart"]["strings"].items():
        text = text.replace(f"${{string:{name}}}", value)
    return json.loads(text)


def test_chart_fields_map_to_logged_columns_and_the_spec_is_valid_vega_lite():
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("altair")
    layout = wandb_dashboard.load_layout()
    text = (ROOT / "docs" / "wandb" / layout["chart"]["spec"]).read_text()
    placeholders = set(re.findall(r"\$\{field:(\w+)\}", text))
    assert placeholders == set(layout["chart"]["fields"])
    assert set(layout["chart"]["fields"].values()) <= set(WANDB_COLUMNS)
    assert set(re.findall(r"\$\{string:(\w+)\}", text)) == set(layout["chart"]["strings"])
    spec = _filled_spec(layout)
    assert "${" not in json.dumps(spec)
    schema = json.loads(resources.files("altair.vegalite.v6.schema").joinpath("vega-lite-schema.json").read_text())
    jsonschema.validate(spec, schema)
    pivots = [t for t in spec["transform"] if "pivot" in t]
    assert spec["facet"]["field"] == "layer" and [t["pivot"] for t in pivots] == ["quantity"]
    # the band of each value rides along the pivot, and the bars read it
    assert {"I_XT_lo", "I_XT_hi", "I_TY_lo", "I_TY_hi"} <= set(pivots[0]["groupby"])
    rules = [layer for layer in spec["spec"]["layer"] if layer["mark"]["type"] == "rule"]
    assert {(r["encoding"]["x"]["field"], r["encoding"]["y"]["field"]) for r in rules} == {
        ("I_XT_lo", "I_TY"),
        ("I_XT", "I_TY_lo"),
    }


def test_workspace_reads_the_table_the_callback_logs_at_the_end():
    pytest.importorskip("wandb_workspaces")
    workspace = wandb_dashboard.build_workspace(wandb_dashboard.load_layout(), "me", "proj")
    charts = [p for s in workspace.sections for p in s.panels if type(p).__name__ == "CustomChart"]
    assert len(charts) == 1 and charts[0].chart_name == "me/ssl-it-infoplane"
    assert charts[0].query == {"summaryTable": {"tableKey": "infoplane/trajectory"}}
    lines = [p for s in workspace.sections for p in s.panels if type(p).__name__ == "LinePlot"]
    assert ["infoplane/backbone/I_XT", "infoplane/projector/I_XT"] in [list(p.y) for p in lines]


def test_dry_run_sends_nothing_and_lists_the_panels():
    pytest.importorskip("wandb_workspaces")
    proc = subprocess.run(
        [sys.executable, "scripts/wandb_dashboard.py", "--entity", "me", "--project", "p", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "chart me/ssl-it-infoplane" in proc.stdout and "8 panels" in proc.stdout
