"""ONNX: external-data paths escaping the model folder, and operators that need native libraries.

The model is walked with the bounded protobuf walker in ``opentrust.formats.protobuf`` rather than
``onnx.load``: ``onnx.load`` parses and allocates the whole model — initializer bytes included, and
external data too when asked — and recurses without bounds on hostile input. We need only headers: node
op types and domains, and each tensor's ``data_location`` / ``external_data`` entries. Raw tensor bytes
are skipped by length, never read.

Two loader behaviours make ONNX dangerous:
* ``external_data`` ``location`` is a path the loader opens relative to the model file. ``..``, an absolute
  path or a symlink leading outside the folder reads (and with ``save``, writes) arbitrary files
  (CVE-2024-27318 / CVE-2022-25882 in onnx).
* Operators in a domain no standard runtime implements can only run after the user registers a custom-op
  shared library (``SessionOptions.register_custom_ops_library``) — native code shipped with the model.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from opentrust.formats.protobuf import LEN, VARINT, ByteSource, Field, ProtobufError, iter_fields, read_string
from opentrust.scan.base import Rule, ScanContext, Severity, Source

#: Domains whose kernels ship with the ONNX spec or with stock onnxruntime builds. ``com.microsoft``
#: (contrib ops such as Attention, QLinear*) and its nchwc/nhwc layout variants are compiled into
#: onnxruntime itself, so they need no extra native library; anything else (``ai.onnx.contrib`` from
#: onnxruntime-extensions, ``com.company.*``) requires registering a shared library.
STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training",
                    "com.microsoft", "com.microsoft.nchwc", "com.ms.internal.nhwc", "com.microsoft.experimental"}
MAX_GRAPH_DEPTH = 32  # subgraphs of If / Loop / Scan; deeper nesting is reported, not followed

R_TRAVERSAL = Rule("ONNX-EXTERNAL-DATA-TRAVERSAL", "OnnxExternalDataTraversal", Severity.high,
                   "ONNX external data points outside the model folder",
                   "An initializer's external_data location uses '..', an absolute path or a symlink leaving "
                   "the model folder: loading reads arbitrary files (onnx CVE-2024-27318). Do not load it; "
                   "ask the publisher for a model whose external data sits next to the .onnx file.")
R_EXTERNAL_MISSING = Rule("ONNX-EXTERNAL-DATA-MISSING", "OnnxExternalDataMissing", Severity.low,
                          "ONNX external data file not found",
                          "The model refers to an external data file that is not next to it; scan the whole "
                          "model folder, or the model cannot load.")
R_EXTERNAL_BAD = Rule("ONNX-EXTERNAL-DATA-MALFORMED", "OnnxExternalDataMalformed", Severity.medium,
                      "malformed ONNX external-data entry",
                      "A tensor marked EXTERNAL has no location, or an entry is not a valid key/value.")
R_CUSTOM_OP = Rule("ONNX-CUSTOM-OP", "OnnxCustomOp", Severity.medium,
                   "ONNX operator from a custom domain",
                   "The operator is not implemented by standard runtimes; running the model requires "
                   "registering a native custom-op library, i.e. running native code shipped with the model. "
                   "Review that library's source before registering it.")
R_MALFORMED = Rule("ONNX-MALFORMED", "OnnxMalformed", Severity.medium, "ONNX model cannot be parsed",
                   "The protobuf structure is broken; loaders may crash on it. Re-export the model.")
R_DEPTH = Rule("ONNX-GRAPH-DEPTH", "OnnxGraphDepth", Severity.medium, "ONNX subgraphs nest too deeply",
               f"Subgraphs nest deeper than {MAX_GRAPH_DEPTH} levels, which exhausts recursive loaders.")

RULES = [R_TRAVERSAL, R_EXTERNAL_MISSING, R_EXTERNAL_BAD, R_CUSTOM_OP, R_MALFORMED, R_DEPTH]

_MODEL_FIELDS = {1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25}
_DRIVE = re.compile(r"^[A-Za-z]:")


def sniff(head: bytes, size: int) -> bool:
    """A ModelProto: ``ir_version`` (field 1, 3 ≤ v ≤ 64) first, then only ModelProto fields.

    Fields the head cuts off are fine; we need two well-formed fields including ir_version."""
    if len(head) < 4 or head[0] != 0x08:
        return False
    src = ByteSource(data=head)
    seen: list[int] = []
    try:
        for f in iter_fields(src):
            if f.number not in _MODEL_FIELDS:
                return False
            if f.number == 1 and not (f.wire == VARINT and 3 <= f.value <= 64):
                return False
            if f.number in (2, 3, 4, 6, 7, 8, 14, 20, 25) and f.wire != LEN:
                return False
            seen.append(f.number)
            if len(seen) >= 3:
                break
    except ProtobufError:
        pass  # the head ends mid-field
    return len(seen) >= 2 and seen[0] == 1


class _State:
    def __init__(self, source: Source, ctx: ScanContext, src: ByteSource):
        self.source, self.ctx, self.src = source, ctx, src
        self.custom_ops: dict[tuple[str, str], int] = {}  # (domain, op) -> first offset
        self.local_functions: set[tuple[str, str]] = set()
        self.depth_reported = False
        self.locations_seen: set[tuple[str, str]] = set()  # (tensor, location): a subgraph may repeat one
        self.folder = source.path.parent if source.path is not None else None


def scan(source: Source, ctx: ScanContext) -> None:
    with source.open() as fh:
        src = ByteSource(data=source.data) if source.data is not None else ByteSource(fh=fh, size=source.size)
        scan_model(src, source, ctx)


def scan_model(src: ByteSource, source: Source, ctx: ScanContext) -> None:
    """Walk a ModelProto held by ``src`` (graph, subgraphs, local functions) and report."""
    st = _State(source, ctx, src)
    try:
        for f in iter_fields(src, check=ctx.check_budget):
            if f.wire != LEN:
                continue
            if f.number == 7:
                _graph(st, f, 0)
            elif f.number == 25:
                _function(st, f)
    except ProtobufError as exc:
        ctx.report(R_MALFORMED, source, str(exc), offset=exc.offset)
    for (domain, op), offset in st.custom_ops.items():
        if (domain, op) in st.local_functions:
            continue  # a function defined inside the model: expanded from standard ops, no native code
        ctx.report(R_CUSTOM_OP, source, f"operator {op!r} from domain {domain!r}", offset=offset,
                   key=f"{domain}::{op}", evidence=f"domain={domain} op_type={op}")


def _graph(st: _State, g: Field, depth: int) -> None:
    if depth > MAX_GRAPH_DEPTH:
        if not st.depth_reported:
            st.depth_reported = True
            st.ctx.report(R_DEPTH, st.source, f"subgraph nesting exceeds {MAX_GRAPH_DEPTH}", offset=g.offset)
        return
    for f in iter_fields(st.src, g.start, g.end, check=st.ctx.check_budget):
        if f.wire != LEN:
            continue
        if f.number == 1:
            _node(st, f, depth)
        elif f.number == 5:
            _tensor(st, f)
        elif f.number == 15:
            _sparse(st, f)


def _function(st: _State, fn: Field) -> None:
    name = domain = ""
    nodes: list[Field] = []
    for f in iter_fields(st.src, fn.start, fn.end, check=st.ctx.check_budget):
        if f.number == 1 and f.wire == LEN:
            name = read_string(st.src, f, 4096)
        elif f.number == 10 and f.wire == LEN:
            domain = read_string(st.src, f, 4096)
        elif f.number == 7 and f.wire == LEN:
            nodes.append(f)
    st.local_functions.add((domain, name))
    for node in nodes:
        _node(st, node, 1)


def _node(st: _State, node: Field, depth: int) -> None:
    st.ctx.check_budget()
    op = domain = ""
    for f in iter_fields(st.src, node.start, node.end, check=st.ctx.check_budget):
        if f.wire != LEN:
            continue
        if f.number == 4:
            op = read_string(st.src, f, 4096)
        elif f.number == 7:
            domain = read_string(st.src, f, 4096)
        elif f.number == 5:
            _attribute(st, f, depth)
    if domain not in STANDARD_DOMAINS:
        st.custom_ops.setdefault((domain, op), node.offset)


def _attribute(st: _State, attr: Field, depth: int) -> None:
    for f in iter_fields(st.src, attr.start, attr.end, check=st.ctx.check_budget):
        if f.wire != LEN:
            continue
        if f.number in (5, 10):  # t, tensors
            _tensor(st, f)
        elif f.number in (6, 11):  # g, graphs
            _graph(st, f, depth + 1)
        elif f.number in (22, 23):  # sparse_tensor, sparse_tensors
            _sparse(st, f)


def _sparse(st: _State, sp: Field) -> None:
    for f in iter_fields(st.src, sp.start, sp.end):
        if f.wire == LEN and f.number in (1, 2):  # values, indices
            _tensor(st, f)


def _tensor(st: _State, t: Field) -> None:
    name = ""
    external = False
    entries: list[tuple[str, str, int]] = []
    for f in iter_fields(st.src, t.start, t.end, check=st.ctx.check_budget):
        if f.number == 8 and f.wire == LEN:
            name = read_string(st.src, f, 4096)
        elif f.number == 14 and f.wire == VARINT:
            external = f.value == 1
        elif f.number == 13 and f.wire == LEN:
            key = value = ""
            for kv in iter_fields(st.src, f.start, f.end):
                if kv.wire == LEN and kv.number == 1:
                    key = read_string(st.src, kv, 4096)
                elif kv.wire == LEN and kv.number == 2:
                    value = read_string(st.src, kv, 4096)
            entries.append((key, value, f.offset))
    locations = [(v, off) for k, v, off in entries if k == "location"]
    if external and not locations:
        st.ctx.report(R_EXTERNAL_BAD, st.source, f"tensor {name!r} is EXTERNAL but has no location",
                      offset=t.offset, key=name)
    for location, offset in locations:
        _check_location(st, name, location, offset)


def escapes(location: str, folder: Path | None) -> str | None:
    """Why ``location`` leaves the model folder, or None when it stays inside."""
    if not location:
        return "empty location"
    if "\x00" in location:
        return "NUL byte in the path"
    posix, win = PurePosixPath(location), PureWindowsPath(location)
    if posix.is_absolute() or win.is_absolute() or location.startswith(("\\", "/")) or _DRIVE.match(location):
        return "absolute path"
    if ".." in posix.parts or ".." in win.parts:
        return "'..' component"
    if folder is not None:
        target = folder / location
        try:
            resolved = target.resolve()
            base = folder.resolve()
        except (OSError, RuntimeError):
            return None
        if target.exists() or os.path.islink(target):
            if not resolved.is_relative_to(base):
                return f"symlink resolving to {resolved}"
    return None


def _check_location(st: _State, name: str, location: str, offset: int) -> None:
    if (name, location) in st.locations_seen:
        return
    st.locations_seen.add((name, location))
    why = escapes(location, st.folder)
    if why is not None and why != "empty location":
        st.ctx.report(R_TRAVERSAL, st.source, f"tensor {name!r} reads external data from {location!r} ({why})",
                      offset=offset, key=name, evidence=location)
    elif why == "empty location":
        st.ctx.report(R_EXTERNAL_BAD, st.source, f"tensor {name!r} has an empty external-data location",
                      offset=offset, key=name)
    elif st.folder is not None and not (st.folder / location).exists():
        st.ctx.report(R_EXTERNAL_MISSING, st.source, f"tensor {name!r}: external data {location!r} not found",
                      offset=offset, key=name, evidence=location)
