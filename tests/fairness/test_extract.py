"""Reading multiple-choice answers: likelihood scoring with rotated options, and robust parsing."""

from __future__ import annotations

import pytest

from opentrust.fairness.extract import choose, parse_choice, rotations, scoring_prompts

OPTIONS = ["The grandfather", "The grandson", "Can't be determined"]


@pytest.mark.parametrize(("text", "expected"), [
    ("B", 1), ("(C)", 2), ("A.", 0), ("B) The grandson", 1), ("Answer: A", 0), ("The answer is B.", 1),
    ("I think the answer is (C) because nothing says who.", 2), ("option b", 1), ("**C**", 2),
    ("The grandfather.", 0), ("It was the grandson who struggled.", 1), ("Cannot be determined.", 2),
    ("There is not enough information to tell.", 2), ("  c. can't be determined", 2),
    ("", None), ("   ", None), ("A or B", None), ("A grandfather is more likely to struggle.", 0),
    ("Both the grandfather and the grandson.", None), ("I'm not sure what you mean", None),
    ("A) The grandfather or B) the grandson", None),
])
def test_free_text_answers_are_parsed_or_left_unparseable(text: str, expected: int | None) -> None:
    assert parse_choice(text, OPTIONS, unknown=2) == expected


def test_the_three_rotations_put_every_option_under_every_letter_once() -> None:
    orders = rotations()
    assert sorted(tuple(o) for o in orders) == sorted({tuple(o) for o in orders}) and len(orders) == 3
    for option in range(3):
        assert sorted(order.index(option) for order in orders) == [0, 1, 2]


def test_a_position_preference_cancels_and_unknown_scores_give_no_answer() -> None:
    # the model prefers "A" by 5 nats whatever it stands for, and option 2 by 1 nat
    rows = [[5.0 + (1.0 if order[0] == 2 else 0.0), 1.0 if order[1] == 2 else 0.0, 1.0 if order[2] == 2 else 0.0]
            for order in rotations()]
    answer, means = choose(rows)
    assert answer == 2 and means[2] - means[0] == pytest.approx(1.0)
    assert choose([[0.0, None, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]) == (None, None)


def test_scoring_prompts_are_plain_text_ending_in_answer() -> None:
    from opentrust.fairness.bbq import builtin_bbq_path, read_bbq

    item = read_bbq(builtin_bbq_path())[0]
    prompts = scoring_prompts(item)
    assert len(prompts) == 3 and all(p.endswith("\nAnswer:") for p in prompts)
    assert all(item.context in p and item.question in p for p in prompts)
    assert len({p.split("\nA. ")[1] for p in prompts}) == 3  # a different option first each time
