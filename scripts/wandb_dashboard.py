"""Install the ssl_it information-plane chart and workspace in a W&B project.

    pip install -e ".[dashboards]" && wandb login
    python scripts/wandb_dashboard.py --entity ENTITY --project PROJECT
    python scripts/wandb_dashboard.py --entity ENTITY --project PROJECT --dry-run   # build, print, send nothing

Two steps, both from files under ``docs/wandb/``:

1. registers the custom chart ``infoplane_chart.json`` (a Vega-Lite spec) in
   ENTITY as ``ENTITY/ssl-it-infoplane`` (``wandb.Api().create_custom_chart``);
   runs can also name it with ``infoplane.wandb_chart_preset=ENTITY/ssl-it-infoplane``;
2. saves the workspace described by ``workspace.yaml`` in PROJECT
   (``wandb_workspaces``): the chart over the ``infoplane/trajectory`` table of
   every selected run, faceted by layer and coloured by epoch, and line plots
   of the per-layer scalars.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

DOCS = Path(__file__).resolve().parents[1] / "docs" / "wandb"


def load_layout(path: Path = DOCS / "workspace.yaml") -> dict[str, Any]:
    """The workspace layout, with the chart's Vega-Lite spec loaded into ``spec_json``."""
    layout = yaml.safe_load(path.read_text())
    layout["chart"]["spec_json"] = json.loads((path.parent / layout["chart"]["spec"]).read_text())
    return layout


def build_workspace(layout: dict[str, Any], entity: str, project: str) -> Any:
    """The ``wandb_workspaces`` Workspace of ``layout`` (nothing is sent)."""
    import wandb_workspaces.reports.v2 as wr
    import wandb_workspaces.workspaces as ws

    chart = layout["chart"]
    sections = []
    for section in layout["sections"]:
        panels = []
        for panel in section["panels"]:
            if panel.get("chart") == "plane":
                panels.append(
                    wr.CustomChart(
                        query={"summaryTable": {"tableKey": chart["table_key"]}},
                        chart_name=f"{entity}/{chart['preset']}",
                        chart_fields=chart["fields"],
                        chart_strings=chart["strings"],
                    )
                )
                continue
            metrics = panel.get("metrics") or [f"infoplane/{layer}/{panel['quantity']}" for layer in layout["layers"]]
            panels.append(wr.LinePlot(title=panel["title"], x="trainer/global_step", y=metrics))
        sections.append(ws.Section(name=section["name"], panels=panels, is_open=True))
    return ws.Workspace(entity=entity, project=project, name=layout["name"], sections=sections)


def main() -> None:
    """Build the W&B workspace and chart preset, and save them (or only print them with ``--dry-run``)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entity", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--layout", type=Path, default=DOCS / "workspace.yaml")
    parser.add_argument("--dry-run", action="store_true", help="build and print, send nothing")
    args = parser.parse_args()
    layout = load_layout(args.layout)
    workspace = build_workspace(layout, args.entity, args.project)
    chart_id = f"{args.entity}/{layout['chart']['preset']}"
    panels = [f"{s.name}: {type(p).__name__}" for s in workspace.sections for p in s.panels]
    print(f"chart {chart_id} ({len(json.dumps(layout['chart']['spec_json']))} bytes of Vega-Lite)")
    print(f"workspace '{workspace.name}' in {args.entity}/{args.project}: {len(panels)} panels")
    for line in panels:
        print(f"  {line}")
    if args.dry_run:
        return
    import wandb

    try:
        wandb.Api().create_custom_chart(
            entity=args.entity,
            name=layout["chart"]["preset"],
            display_name=layout["chart"]["display_name"],
            spec_type="vega2",
            access="private",
            spec=layout["chart"]["spec_json"],
        )
        print(f"registered {chart_id}")
    except wandb.Error as err:  # most often: it exists already
        print(f"chart {chart_id} not created ({err}); using the existing one")
    workspace.save()
    print(f"saved: {workspace.url}")


if __name__ == "__main__":
    main()
