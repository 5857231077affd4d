"""The interviews as a Mermaid flowchart, drawn from the step tables themselves (docs/interviews.md, README)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import groupby

from handlers.conversation.engine import label_of
from handlers.conversation.interview import Interview, Step

Label = Callable[[str], str]
Exit = tuple[str, str | None]  # a node, and the label of the edge that leaves it


def _text(raw: str, limit: int = 60) -> str:
    line = raw.strip().splitlines()[0] if raw.strip() else raw
    line = line.replace('"', "'").replace("[", "(").replace("]", ")")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _condition(step: Step) -> str:
    when = step.when
    if when is None:
        return ""
    doc = (getattr(when, "__doc__", None) or "").strip()
    if hasattr(when, "conditions"):
        return str(when)
    return _text(doc, 70) if doc else getattr(when, "__name__", "condition")


def _connect(lines: list[str], exits: Sequence[Exit], target: str) -> None:
    for node, edge in exits:
        lines.append(f"    {node} -->|{edge}| {target}" if edge else f"    {node} --> {target}")


def interview_chart(interview: Interview, label: Label) -> list[str]:
    name = interview.name
    lines = [f'  subgraph {name}["{_text(label(interview.title))}"]', "    direction TB"]
    begin = f"{name}_begin"
    lines.append(f'    {begin}(["{_text(label(interview.title))}"])')
    exits: list[Exit] = [(begin, None)]
    for index, (condition, group) in enumerate(groupby(interview.steps, key=_condition)):
        steps = list(group)
        branch_exits: list[Exit] = []
        if condition:
            decision = f"{name}_if{index}"
            lines.append(f'    {decision}{{"{condition}"}}')
            _connect(lines, exits, decision)
            exits, branch_exits = [(decision, "yes")], [(decision, "no")]
        for step in steps:
            node = f"{name}_{step.key}"
            marks = (" 🔒" if step.sensitive else "") + (" (optional)" if step.optional else "")
            lines.append(f'    {node}["{_text(label(label_of(interview, step)))}{marks}"]')
            _connect(lines, exits, node)
            exits = [(node, None)]
            for value, note in step.notes:
                lines.append(f'    {node}_{value}>"{_text(label(note))}"]')
                lines.append(f"    {node} -.->|{value}| {node}_{value}")
        exits += branch_exits
    summary = f"{name}_summary"
    lines.append(f'    {summary}[/"{_text(label("engine.edit"))} · {_text(label("engine.submit"))}"/]')
    _connect(lines, exits, summary)
    done = f"{name}_done"
    lines.append(f'    {done}(["{_text(label(f"kind.{interview.kind}"))}"])')
    lines.append(f"    {summary} --> {done}")
    lines.append("  end")
    return lines


def mermaid(interviews: Sequence[Interview], label: Label) -> str:
    """Menu → privacy notice → each interview's steps (conditions as diamonds) → summary → ticket."""
    lines = ["flowchart TD"]
    lines.append(f'  any(["{_text(label("webchat.placeholder"))}"]) -->|danger words| sos[/"110 · 120 · 119"/]')
    lines.append(f'  any --> menu{{"{_text(label("menu.title"))}"}}')
    lines.append(f'  menu --> consent{{"{_text(label("consent.agree"))} / {_text(label("consent.decline"))}"}}')
    for interview in interviews:
        lines.extend(interview_chart(interview, label))
        lines.append(f"  consent -->|{_text(label('consent.agree'))}| {interview.name}_begin")
    return "\n".join(lines) + "\n"
