"""Loads a Grafana dashboard JSON document through Grafana's own schema models.

Usage: dashboard_schema.py DASHBOARD.json ROUNDTRIP.json

Decodes the document with grafana_foundation_sdk.models.dashboard.Dashboard.from_json (the
panel and data-query plugins of the SDK registered, so stat/timeseries options and Prometheus
targets decode to their typed models), writes the models encoded back to JSON to ROUNDTRIP.json
and prints one JSON line describing the decoded objects:
  {"schema_version": 39, "panels": [{"id", "type", "title", "class", "options_class",
                                      "targets": [{"ref_id", "expr", "class"}]}]}
A document the models cannot decode prints {"rejected": "<exception type>: <message>"} and
exits with status 2. The models check structure, not values: see charts/accel-operator/README.md.
"""
import json
import sys

from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard


def qualified(obj):
    if obj is None:
        return None
    cls = type(obj)
    return cls.__module__.replace("grafana_foundation_sdk.models.", "") + "." + cls.__name__


def describe(panel):
    return {
        "id": panel.id_val,
        "type": panel.type_val,
        "title": panel.title,
        "class": qualified(panel),
        "options_class": qualified(getattr(panel, "options", None)),
        "targets": [
            {"ref_id": getattr(t, "ref_id", None), "expr": getattr(t, "expr", None),
             "class": qualified(t)}
            for t in (getattr(panel, "targets", None) or [])
        ],
    }


def main():
    source, roundtrip = sys.argv[1], sys.argv[2]
    plugins.register_default_plugins()
    with open(source, encoding="utf-8") as f:
        document = json.load(f)
    try:
        dash = dashboard.Dashboard.from_json(document)
        encoded = json.dumps(dash, cls=JSONEncoder, indent=1)
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        print(json.dumps({"rejected": f"{type(e).__name__}: {e}"}))
        return 2
    with open(roundtrip, "w", encoding="utf-8") as f:
        f.write(encoded)
    panels = []
    for p in dash.panels or []:
        panels.append(describe(p))
        if isinstance(p, dashboard.RowPanel):
            panels.extend(describe(c) for c in p.panels)
    print(json.dumps({"schema_version": dash.schema_version, "panels": panels}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
