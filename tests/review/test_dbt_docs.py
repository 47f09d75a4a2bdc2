"""Every generated segment model carries its title, description, owner and tags, for `dbt docs`."""

from __future__ import annotations

from ruamel.yaml import YAML

from segflow.segments.compile import render
from segflow.segments.project import load_project


def test_segment_models_document_the_segment(tmp_path):
    (tmp_path / "vip.yml").write_text(
        "title: VIP {{ evil }}\ndescription: Big spenders.\nowner: crm-team\n"
        "tags: [loyalty, win-back]\nhot: true\nrules: {metric: orders, gt: 10}\n"
    )
    (tmp_path / "bare.yml").write_text("rules: {metric: orders, gt: 1}\n")
    files = render(load_project(tmp_path), "segments")
    model = YAML(typ="safe").load(files["seg_vip.yml"])["models"][0]
    assert model["config"]["tags"] == ["segment", "loyalty", "win-back"]
    assert model["config"]["meta"] == {
        "title": "{% raw %}VIP {{ evil }}{% endraw %}",  # dbt renders it back to the title
        "owner": "crm-team",
        "kind": "dynamic",
        "hot": True,
        "definition": "segments/vip.yml",
    }
    assert model["description"].startswith("{% raw %}**VIP {{ evil }}**\n\nBig spenders.\n\n")
    assert "Owner: crm-team; tags: loyalty, win-back; kind: dynamic, hot" in model["description"]
    bare = YAML(typ="safe").load(files["seg_bare.yml"])["models"][0]
    assert bare["config"] == {
        "tags": ["segment"],
        "meta": {
            "title": None,
            "owner": None,
            "kind": "dynamic",
            "hot": False,
            "definition": "segments/bare.yml",
        },
    }
    assert bare["description"].startswith("**bare**\n\nOwner: none; kind: dynamic;")
