"""GGUF: strict structure (through the bounded reader in ``opentrust.formats.gguf``) and chat templates.

llama.cpp's GGUF loader has had memory-safety bugs driven by unchecked counts, string lengths, dimension
counts, alignment and tensor offsets; every one of those is checked here before anything is allocated.
A file the reader cannot parse is a finding (GGUF-MALFORMED), never a crash; what was read before the
error (e.g. a chat template before a corrupt tensor table) is still analysed.
"""

from __future__ import annotations

from opentrust.formats.gguf import MAGIC, GGUFError, GGUFFile, parse_gguf
from opentrust.scan import templates
from opentrust.scan.base import Rule, ScanContext, Severity, Source

_help = "Do not load this file; re-download or re-convert it from a trusted source."


def _rule(code: str, severity: Severity, title: str, why: str) -> Rule:
    name = "Gguf" + "".join(p.capitalize() for p in code.split("-"))
    return Rule(f"GGUF-{code.upper()}", name, severity, title, f"{why} {_help}")


R_MALFORMED = _rule("malformed", Severity.high, "GGUF file cannot be parsed",
                    "The header, metadata or tensor table is truncated or holds counts the file cannot "
                    "contain; loaders that trust them have overflowed buffers (llama.cpp GGUF CVEs).")
#: reader problem code -> rule
PROBLEM_RULES: dict[str, Rule] = {
    "duplicate-key": _rule("duplicate-key", Severity.high, "duplicate GGUF metadata key",
                           "Two entries share a key; loaders disagree on which one wins, so the chat template, "
                           "tokenizer or architecture a reviewer sees need not be the one a loader uses (a parser "
                           "differential)."),
    "nested-array": _rule("nested-array", Severity.high, "nested GGUF metadata array",
                          "Arrays of arrays are not allowed by llama.cpp and have driven parser bugs."),
    "bad-bool": _rule("bad-bool", Severity.medium, "GGUF boolean not 0 or 1",
                      "A boolean holds another value: the file was not written by a conforming writer."),
    "bad-alignment": _rule("bad-alignment", Severity.high, "GGUF alignment not a power of two",
                           "general.alignment must be a power of two; other values break offset arithmetic."),
    "too-many-dims": _rule("too-many-dims", Severity.high, "GGUF tensor with more than 4 dimensions",
                           "ggml tensors have at most 4 dimensions; loaders write dims into fixed arrays."),
    "long-tensor-name": _rule("long-tensor-name", Severity.high, "GGUF tensor name of 64 bytes or more",
                              "ggml stores tensor names in a 64-byte buffer."),
    "duplicate-tensor": _rule("duplicate-tensor", Severity.high, "duplicate GGUF tensor name",
                              "Two tensors share a name; which one is used depends on the loader, so the weights a "
                              "reviewer inspects need not be the ones that run (a parser differential)."),
    "bad-tensor-type": _rule("bad-tensor-type", Severity.high, "unknown GGUF tensor type",
                             "The tensor type is not a ggml type; size computations are undefined."),
    "misaligned-tensor": _rule("misaligned-tensor", Severity.medium, "misaligned GGUF tensor",
                               "Tensor offsets must be multiples of general.alignment."),
    "tensor-out-of-bounds": _rule("tensor-out-of-bounds", Severity.high, "GGUF tensor data past end of file",
                                  "A tensor's bytes lie beyond the end of the file: out-of-bounds read."),
    "tensor-overlap": _rule("tensor-overlap", Severity.high, "overlapping GGUF tensors",
                            "Two tensors share bytes; the layout is not what a writer produces."),
    "tensor-gap": _rule("tensor-gap", Severity.medium, "gap between GGUF tensors",
                        "Bytes between tensors belong to none of them and can hide a payload."),
    "bad-shape": _rule("bad-shape", Severity.medium, "GGUF tensor shape does not fit its block size",
                       "The row length is not a multiple of the quantization block."),
    "truncated": _rule("truncated", Severity.high, "GGUF file truncated",
                       "The file ends before its tensor data section."),
    "bad-key": _rule("bad-key", Severity.medium, "invalid GGUF metadata key",
                     "A metadata key is empty or not valid UTF-8."),
}
R_PROBLEM = _rule("structure", Severity.medium, "GGUF structural problem", "The file does not follow the spec.")

RULES = [R_MALFORMED, *PROBLEM_RULES.values(), R_PROBLEM]

TEMPLATE_KEY = "tokenizer.chat_template"


def sniff(head: bytes, size: int) -> bool:
    return head[:4] == MAGIC


def scan(source: Source, ctx: ScanContext) -> None:
    g: GGUFFile | None
    with source.open() as fh:
        try:
            g = parse_gguf(fh, source.size, source.display, check=ctx.check_budget)
        except GGUFError as exc:
            ctx.report(R_MALFORMED, source, str(exc), offset=exc.offset)
            g = exc.partial
    if g is None:
        return
    for p in g.problems:
        ctx.report(PROBLEM_RULES.get(p.code, R_PROBLEM), source, p.message, offset=p.offset, key=p.key)
    for key, value in g.metadata.items():
        if (key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + ".")) and isinstance(value, str):
            ctx.check_budget()
            templates.report_template(value, source, ctx, key=key, offset=g.key_offsets.get(key))
