"""Write a small Hugging Face-style dataset folder of public-domain text, for a real `opentrust data` run.

    .venv/bin/python scripts/make_pd_dataset.py /tmp/pd-dataset [--plant]

The text is the Gettysburg Address (1863) and the first ten amendments of the US Constitution (1791), both in
the public domain, split into one JSONL row per sentence and a Parquet copy of the Bill of Rights; the card
declares CC0-1.0 for the compilation. ``--plant`` adds what a scanner should find: three built-in red-team
prompts (contamination), one e-mail address and one AWS key id (made up), and a repeated row (duplicate).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

GETTYSBURG = """Four score and seven years ago our fathers brought forth on this continent, a new nation, conceived in \
Liberty, and dedicated to the proposition that all men are created equal. Now we are engaged in a great civil war, \
testing whether that nation, or any nation so conceived and so dedicated, can long endure. We are met on a great \
battle-field of that war. We have come to dedicate a portion of that field, as a final resting place for those who \
here gave their lives that that nation might live. It is altogether fitting and proper that we should do this. But, \
in a larger sense, we can not dedicate, we can not consecrate, we can not hallow this ground. The brave men, living \
and dead, who struggled here, have consecrated it, far above our poor power to add or detract. The world will little \
note, nor long remember what we say here, but it can never forget what they did here. It is for us the living, \
rather, to be dedicated here to the unfinished work which they who fought here have thus far so nobly advanced. It \
is rather for us to be here dedicated to the great task remaining before us, that from these honored dead we take \
increased devotion to that cause for which they gave the last full measure of devotion, that we here highly resolve \
that these dead shall not have died in vain, that this nation, under God, shall have a new birth of freedom, and \
that government of the people, by the people, for the people, shall not perish from the earth."""

BILL_OF_RIGHTS = [
    "Congress shall make no law respecting an establishment of religion, or prohibiting the free exercise thereof; or "
    "abridging the freedom of speech, or of the press; or the right of the people peaceably to assemble, and to "
    "petition the Government for a redress of grievances.",
    "A well regulated Militia, being necessary to the security of a free State, the right of the people to keep and "
    "bear Arms, shall not be infringed.",
    "No Soldier shall, in time of peace be quartered in any house, without the consent of the Owner, nor in time of "
    "war, but in a manner to be prescribed by law.",
    "The right of the people to be secure in their persons, houses, papers, and effects, against unreasonable "
    "searches and seizures, shall not be violated, and no Warrants shall issue, but upon probable cause, supported "
    "by Oath or affirmation, and particularly describing the place to be searched, and the persons or things to be "
    "seized.",
    "No person shall be held to answer for a capital, or otherwise infamous crime, unless on a presentment or "
    "indictment of a Grand Jury, except in cases arising in the land or naval forces, or in the Militia, when in "
    "actual service in time of War or public danger; nor shall any person be subject for the same offence to be "
    "twice put in jeopardy of life or limb; nor shall be compelled in any criminal case to be a witness against "
    "himself, nor be deprived of life, liberty, or property, without due process of law; nor shall private property "
    "be taken for public use, without just compensation.",
    "In all criminal prosecutions, the accused shall enjoy the right to a speedy and public trial, by an impartial "
    "jury of the State and district wherein the crime shall have been committed, which district shall have been "
    "previously ascertained by law, and to be informed of the nature and cause of the accusation; to be confronted "
    "with the witnesses against him; to have compulsory process for obtaining witnesses in his favor, and to have "
    "the Assistance of Counsel for his defence.",
    "In Suits at common law, where the value in controversy shall exceed twenty dollars, the right of trial by jury "
    "shall be preserved, and no fact tried by a jury, shall be otherwise re-examined in any Court of the United "
    "States, than according to the rules of the common law.",
    "Excessive bail shall not be required, nor excessive fines imposed, nor cruel and unusual punishments inflicted.",
    "The enumeration in the Constitution, of certain rights, shall not be construed to deny or disparage others "
    "retained by the people.",
    "The powers not delegated to the United States by the Constitution, nor prohibited by it to the States, are "
    "reserved to the States respectively, or to the people.",
]

CARD = """---
pretty_name: Public-domain American founding texts
license: cc0-1.0
language:
- en
task_categories:
- text-generation
size_categories:
- n<1K
---
# Public-domain American founding texts

## Dataset Summary
The Gettysburg Address (1863), one row per sentence, and the ten amendments of the US Bill of Rights (1791), one
row per amendment. Assembled to exercise dataset scanners on real, public-domain prose.

## Languages
English (United States, eighteenth- and nineteenth-century usage).

## Dataset Structure
JSONL rows with `id`, `source` and `text`; a Parquet copy of the Bill of Rights with the same columns.

### Data Splits
One split, `train`, with every row.

## Dataset Creation

### Curation Rationale
Small, freely reusable prose with no personal data, for testing.

### Source Data
Transcribed from the public-domain texts of the Gettysburg Address and the US Constitution's amendments.

### Personal and Sensitive Information
None: historical public documents.

## Considerations for Using the Data
### Other Known Limitations
Tiny and old-fashioned: not a training corpus.

## Additional Information
### Licensing Information
The texts are in the public domain; the compilation is released under CC0-1.0.

### Citation Information
Cite the original documents; no citation is needed for this compilation.
"""


def main() -> None:
    out = Path(sys.argv[1])
    plant = "--plant" in sys.argv
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "README.md").write_text(CARD, encoding="utf-8")
    sentences = re.split(r"(?<=[.])\s+", GETTYSBURG)
    rows = [{"id": f"gettysburg-{i}", "source": "Gettysburg Address", "text": s} for i, s in enumerate(sentences)]
    rows += [{"id": f"amendment-{i + 1}", "source": "Bill of Rights", "text": t} for i, t in enumerate(BILL_OF_RIGHTS)]
    if plant:
        from opentrust.redteam.catalogue import load_catalogue

        probes = [p for p in load_catalogue(include_plugins=False) if p.category == "jailbreak"][:3]
        for p in probes:
            rows.append({"id": f"planted-{p.id}", "source": "forum scrape",
                         "text": "\n".join(m.content for m in p.messages if m.content)})
        rows.append({"id": "planted-contact", "source": "forum scrape",
                     "text": "Questions about the transcription? Write to archivist.lee@example.org."})
        rows.append({"id": "planted-key", "source": "forum scrape",
                     "text": "config: aws_access_key_id = AKIAQX7RZK2M4N6P5T3V"})
        rows.append(dict(rows[3]))
    with open(out / "data" / "train.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    import pyarrow as pa
    import pyarrow.parquet as pq

    bor = [r for r in rows if r["source"] == "Bill of Rights"]
    pq.write_table(pa.table({k: [r[k] for r in bor] for k in ("id", "source", "text")}),
                   out / "data" / "bill_of_rights.parquet")
    print(f"wrote {out} ({len(rows)} rows{', with planted items' if plant else ''})")


if __name__ == "__main__":
    main()
