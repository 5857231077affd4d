"""The Mermaid diagram in docs/interviews.md and README.md is the one the step tables draw today."""

from __future__ import annotations

from bot.diagram import BEGIN, END, TARGETS, block
from handlers.router import INTERVIEWS


def test_the_diagram_is_drawn_from_the_current_tables() -> None:
    expected = block()
    for path in TARGETS:
        text = path.read_text(encoding="utf-8")
        drawn = text[text.index(BEGIN) : text.index(END) + len(END)]
        assert drawn == expected, f"{path.name} is out of date: run `.venv/bin/python -m bot.diagram`"


def test_every_step_and_branch_is_in_it() -> None:
    chart = block()
    for interview in INTERVIEWS.values():
        if not interview.in_menu:
            assert f"subgraph {interview.name}[" not in chart
            continue
        assert f"subgraph {interview.name}[" in chart
        for step in interview.steps:
            assert f"    {interview.name}_{step.key}[" in chart
            if step.sensitive:
                assert "🔒" in chart.split(f"    {interview.name}_{step.key}[", 1)[1].split("\n", 1)[0]
    assert 'concern_if1{"category = fraud"}' in chart and "concern_if1 -->|no| concern_if2" in chart
    assert "concern_category -.->|fraud| concern_category_fraud" in chart
