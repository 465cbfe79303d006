"""Atlassian Document Format builders and the deterministic prose that fills them.

API v3 renders every rich-text value (description, comment bodies, textarea custom fields, worklog comments)
as ADF. The text deliberately mixes accents, CJK and emoji, and some documents are longer than 10 kB, because
those are the values that break flatteners and column sizes in connectors.
"""

from __future__ import annotations

import html
import random
from typing import Any

WORDS = [
    "deploy",
    "pipeline",
    "cache",
    "latency",
    "regression",
    "payload",
    "schema",
    "token",
    "retry",
    "backoff",
    "index",
    "partition",
    "merge",
    "watermark",
    "snapshot",
    "replica",
    "cluster",
    "webhook",
    "timeout",
    "dashboard",
    "export",
    "import",
    "migration",
    "rollout",
    "feature",
    "flag",
    "customer",
    "invoice",
    "report",
    "search",
    "filter",
    "sprint",
    "backlog",
    "release",
    "hotfix",
    "audit",
    "permission",
]
UNICODE_SNIPPETS = (
    "café crème brûlée",
    "naïve façade",
    "Zürich Größe",
    "東京の会議室",
    "数据同步失败",
    "한국어 텍스트",
    "emoji 🚀🔥✅",
    "Ελληνικά",
    "русский текст",
    "עברית",
    "مرحبا",
    "✓ done → next",
    "😀 works on my machine",
)
LANGUAGES = ("python", "sql", "javascript", "bash", "java")


def doc(content: list[dict[str, Any]]) -> dict[str, Any]:
    """A top-level ADF document."""
    return {"type": "doc", "version": 1, "content": content}


def text(value: str, marks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = marks
    return node


def paragraph(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(nodes)}


def plain_doc(value: str) -> dict[str, Any]:
    """One paragraph holding `value` (what a control-API comment becomes); ADF forbids empty text nodes."""
    return doc([paragraph(text(value))] if value else [paragraph()])


def sentence(rng: random.Random, words: int | None = None) -> str:
    rand = rng.random
    chosen = [WORDS[int(rand() * len(WORDS))] for _ in range(words or 4 + int(rand() * 11))]
    if rand() < 0.3:
        chosen.insert(int(rand() * len(chosen)), UNICODE_SNIPPETS[int(rand() * len(UNICODE_SNIPPETS))])
    return " ".join(chosen).capitalize() + "."


def _rich_paragraph(rng: random.Random) -> dict[str, Any]:
    nodes = [text(sentence(rng) + " ")]
    roll = rng.random()
    if roll < 0.25:
        nodes.append(text(rng.choice(WORDS), [{"type": "strong"}]))
    elif roll < 0.45:
        nodes.append(text(rng.choice(WORDS), [{"type": "em"}]))
    elif roll < 0.6:
        nodes.append(text(f"{rng.choice(WORDS)}()", [{"type": "code"}]))
    elif roll < 0.7:
        nodes.append(text("runbook", [{"type": "link", "attrs": {"href": "https://example.com/runbook"}}]))
    nodes.append(text(" " + sentence(rng)))
    return paragraph(*nodes)


def _block(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.55:
        return _rich_paragraph(rng)
    if roll < 0.7:
        return {
            "type": "heading",
            "attrs": {"level": rng.randint(2, 4)},
            "content": [text(sentence(rng, rng.randint(2, 5)))],
        }
    if roll < 0.88:
        items = [
            {"type": "listItem", "content": [paragraph(text(sentence(rng)))]}
            for _ in range(rng.randint(2, 5))
        ]
        return {"type": "bulletList", "content": items}
    code = "\n".join(f"{rng.choice(WORDS)}_{i} = {rng.randint(0, 999)}" for i in range(rng.randint(2, 8)))
    return {"type": "codeBlock", "attrs": {"language": rng.choice(LANGUAGES)}, "content": [text(code)]}


def rich_doc(rng: random.Random, long: bool = False) -> dict[str, Any]:
    """A document of a few mixed blocks; `long` makes it exceed 10 kB of text."""
    blocks = [_block(rng) for _ in range(rng.randint(1, 5))]
    if long:
        size = 0
        while size < 12_000:
            para = paragraph(text(" ".join(sentence(rng, 20) for _ in range(8))))
            size += len(para["content"][0]["text"])
            blocks.append(para)
    return doc(blocks)


def to_text(node: dict[str, Any]) -> str:
    """Plain text of an ADF tree, one line per block (for renderedFields)."""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    parts = [to_text(child) for child in node.get("content", ())]
    joiner = "\n" if node.get("type") in ("doc", "bulletList", "listItem") else ""
    return joiner.join(parts)


def escape(value: str) -> str:
    return html.escape(value, quote=False)
