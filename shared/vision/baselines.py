"""The blind answerer of the scene questions, per question: the floor every accuracy on the scene VLM is read against.

`shared.vision.scenes.majority_baseline` gives its accuracy per question type over whole scenes; papers that sample
questions (`vlm_stage.eval_questions`) need it per sampled question, so that it pairs with the VLM's answers on the
same questions (a per-seed margin over the blind answerer, a share of the above-blind accuracy kept).
"""

from __future__ import annotations

from shared.vision.scenes import Question, Scene


def majority_tables(train_scenes: list[Scene]) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Answer counts per question text and per question type in the training scenes."""
    by_text: dict[str, dict[str, int]] = {}
    by_kind: dict[str, dict[str, int]] = {}
    for s in train_scenes:
        for q in s.questions:
            for table, key in ((by_text, q.text), (by_kind, q.kind)):
                table.setdefault(key, {}).setdefault(q.answer, 0)
                table[key][q.answer] += 1
    return by_text, by_kind


def blind_correct(train_scenes: list[Scene], items: list[tuple[int, Question]]) -> list[bool]:
    """Whether the blind answerer gets each `(scene index, question)` item right: the most frequent answer to the
    question's text in `train_scenes` (its type's most frequent answer for a text never seen there; ties broken by the
    answer's sort order), the rule of `scenes.majority_baseline`."""
    if not train_scenes:
        raise ValueError("the blind answerer needs training scenes to count answers in")
    by_text, by_kind = majority_tables(train_scenes)

    def top(counts):
        return max(sorted(counts), key=counts.get)

    return [q.answer == top(by_text.get(q.text) or by_kind[q.kind]) for _, q in items]
