"""TensorFlow SavedModel (``saved_model.pb``): graph operations that touch files, processes or Python.

A SavedModel graph runs inside the TensorFlow runtime when the model is served or called; ops such as
``ReadFile``/``WriteFile`` read and write arbitrary paths, ``MatchingFiles`` lists directories, and
``PyFunc``/``EagerPyFunc`` call back into Python. The file is walked with the bounded protobuf walker
(``opentrust.formats.protobuf``), never loaded with TensorFlow: node op names are read from the graph and
from every function in the graph's function library; tensor constants are skipped by length.

Checkpoint ops (SaveV2, RestoreV2, MergeV2Checkpoints, ShardedFilename) are in every SavedModel's saver
graph and only touch the checkpoint the user points at, so they are not reported.
"""

from __future__ import annotations

from opentrust.formats.protobuf import LEN, VARINT, ByteSource, Field, ProtobufError, iter_fields, read_string
from opentrust.scan.base import Rule, ScanContext, Severity, Source

#: op name -> (severity, what it does)
DANGEROUS_OPS: dict[str, tuple[Severity, str]] = {
    "PyFunc": (Severity.critical, "calls a Python function"),
    "PyFuncStateless": (Severity.critical, "calls a Python function"),
    "EagerPyFunc": (Severity.critical, "calls a Python function"),
    "WriteFile": (Severity.high, "writes a file at a path computed by the graph"),
    "ReadFile": (Severity.high, "reads a file at a path computed by the graph"),
    "MatchingFiles": (Severity.medium, "lists files matching a pattern"),
    "WholeFileReader": (Severity.medium, "reads whole files"),
    "WholeFileReaderV2": (Severity.medium, "reads whole files"),
    "TextLineReader": (Severity.medium, "reads text files"),
    "TextLineReaderV2": (Severity.medium, "reads text files"),
    "FixedLengthRecordReader": (Severity.medium, "reads files"),
    "FixedLengthRecordReaderV2": (Severity.medium, "reads files"),
    "TFRecordReader": (Severity.medium, "reads files"),
    "TFRecordReaderV2": (Severity.medium, "reads files"),
    "ImmutableConst": (Severity.medium, "memory-maps a file from disk"),
    "DebugIdentity": (Severity.medium, "can stream tensors to debug URLs (grpc://, file://)"),
    "DebugIdentityV2": (Severity.medium, "can stream tensors to debug URLs"),
    "DebugNumericSummary": (Severity.medium, "can stream tensors to debug URLs"),
    "DecodeProtoV2": (Severity.low, "may load protobuf descriptors from a file"),
    "Print": (Severity.low, "prints tensors to the server's logs"),
    "PrintV2": (Severity.low, "prints tensors to the server's logs or a file"),
}
MAX_META_GRAPHS = 64

R_OP = Rule("SAVEDMODEL-DANGEROUS-OP", "SavedModelDangerousOp", Severity.high,
            "TensorFlow graph uses a file, process or Python op",
            "The graph runs this operation when the model is called; it can read or write files or run "
            "Python with the server's privileges. Do not serve the model until the op is explained.")
R_MALFORMED = Rule("SAVEDMODEL-MALFORMED", "SavedModelMalformed", Severity.medium,
                   "SavedModel protobuf cannot be parsed",
                   "The saved_model.pb structure is broken; TensorFlow would fail or crash loading it.")
RULES = [R_OP, R_MALFORMED]


def sniff(head: bytes, size: int) -> bool:
    """SavedModel: ``saved_model_schema_version`` = 1 (field 1), then ``meta_graphs`` (field 2) whose first
    field is a MetaGraphDef field (1..9, length-delimited)."""
    if not head.startswith(b"\x08\x01\x12"):
        return False
    src = ByteSource(data=head)
    try:
        _, pos = src.varint(3, len(head))
        tag, _ = src.varint(pos, len(head))
    except ProtobufError:
        return False
    return tag & 7 == LEN and 1 <= tag >> 3 <= 9


def scan(source: Source, ctx: ScanContext) -> None:
    found: dict[str, tuple[int, str]] = {}  # op -> (first offset, node name)
    with source.open() as fh:
        src = ByteSource(data=source.data) if source.data is not None else ByteSource(fh=fh, size=source.size)
        try:
            metas = 0
            for f in iter_fields(src, check=ctx.check_budget):
                if f.number == 2 and f.wire == LEN:
                    metas += 1
                    if metas > MAX_META_GRAPHS:
                        break
                    for g in iter_fields(src, f.start, f.end, check=ctx.check_budget):
                        if g.number == 2 and g.wire == LEN:  # graph_def
                            _graph(src, g, ctx, found)
                elif f.number == 1 and f.wire != VARINT:
                    raise ProtobufError("saved_model_schema_version is not a varint", f.offset)
        except ProtobufError as exc:
            ctx.report(R_MALFORMED, source, str(exc), offset=exc.offset)
    for op, (offset, node) in sorted(found.items()):
        severity, what = DANGEROUS_OPS[op]
        ctx.report(R_OP, source, f"op {op} ({what}) in node {node!r}", offset=offset, key=node,
                   evidence=f"op={op} node={node}", severity=severity)


def _graph(src: ByteSource, g: Field, ctx: ScanContext, found: dict[str, tuple[int, str]]) -> None:
    for f in iter_fields(src, g.start, g.end, check=ctx.check_budget):
        if f.wire != LEN:
            continue
        if f.number == 1:  # node
            _node(src, f, ctx, found)
        elif f.number == 2:  # library: FunctionDefLibrary
            for fn in iter_fields(src, f.start, f.end, check=ctx.check_budget):
                if fn.number == 1 and fn.wire == LEN:  # FunctionDef
                    for part in iter_fields(src, fn.start, fn.end, check=ctx.check_budget):
                        if part.number == 3 and part.wire == LEN:  # node_def
                            _node(src, part, ctx, found)


def _node(src: ByteSource, node: Field, ctx: ScanContext, found: dict[str, tuple[int, str]]) -> None:
    name = op = ""
    for f in iter_fields(src, node.start, node.end, check=ctx.check_budget):
        if f.wire != LEN:
            continue
        if f.number == 1:
            name = read_string(src, f, 1024)
        elif f.number == 2:
            op = read_string(src, f, 256)
    if op in DANGEROUS_OPS and op not in found:
        found[op] = (node.offset, name)
