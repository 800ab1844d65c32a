"""PyTorch checkpoints written without torch, byte-compatible with torch.save: a protocol-2 data.pkl with
``torch._utils._rebuild_tensor_v2`` + persistent storage ids, stored (uncompressed) in a zip under a folder
prefix, or the legacy stacked-pickle format. Used by tests and benchmarks/scan_peers.py.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

_DTYPES = {"float32": ("FloatStorage", 4), "float16": ("HalfStorage", 2), "int64": ("LongStorage", 8),
           "bfloat16": ("BFloat16Storage", 2)}


class Ref:
    """A global as torch's pickle names it (emitted as a GLOBAL opcode, never imported)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> None:  # pickle requires reduce functions to look callable
        raise RuntimeError("a Ref is a name, never called")


class Storage:
    def __init__(self, key: str, dtype: str, numel: int):
        self.key, self.dtype, self.numel = key, dtype, numel


class Tensor:
    def __init__(self, storage: Storage, shape: tuple[int, ...]):
        self.storage, self.shape = storage, shape


class _TorchPickler(pickle._Pickler):  # type: ignore[name-defined]
    def __init__(self, fh: Any):
        super().__init__(fh, protocol=2)

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, Storage):
            return ("storage", Ref("torch", _DTYPES[obj.dtype][0]), obj.key, "cpu", obj.numel)
        return None

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:  # noqa: FBT001
        if isinstance(obj, Ref):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            self.memoize(obj)
            return
        super().save(obj, save_persistent_id)

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            stride = tuple(math.prod(obj.shape[i + 1:]) for i in range(len(obj.shape)))
            return (Ref("torch._utils", "_rebuild_tensor_v2"),
                    (obj.storage, 0, obj.shape, stride, False, collections.OrderedDict()))
        if isinstance(obj, collections.OrderedDict) and obj and not getattr(obj, "_plain", False):
            return NotImplemented
        return NotImplemented


def state_dict_pickle(shapes: dict[str, tuple[int, ...]], dtype: str = "float32") -> tuple[bytes, list[Storage]]:
    sd: collections.OrderedDict[str, Any] = collections.OrderedDict()
    storages = []
    for i, (name, shape) in enumerate(shapes.items()):
        st = Storage(str(i), dtype, math.prod(shape))
        storages.append(st)
        sd[name] = Tensor(st, shape)
    buf = io.BytesIO()
    _TorchPickler(buf).dump(sd)
    return buf.getvalue(), storages


def write_torch_zip(path: Path, shapes: dict[str, tuple[int, ...]], prefix: str = "archive",
                    dtype: str = "float32", data_pickle: bytes | None = None, extra: dict[str, bytes] | None = None
                    ) -> Path:
    """A torch.save-style zip. ``data_pickle`` replaces data.pkl (to plant a payload); tensor bytes are
    written in 16 MiB chunks so large files need no memory."""
    pkl, storages = state_dict_pickle(shapes, dtype)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(f"{prefix}/data.pkl", data_pickle if data_pickle is not None else pkl)
        zf.writestr(f"{prefix}/byteorder", "little")
        for st in storages:
            nbytes = st.numel * _DTYPES[dtype][1]
            with zf.open(f"{prefix}/data/{st.key}", "w", force_zip64=nbytes > 2**31) as out:
                chunk = bytes(range(256)) * (1 << 16)
                left = nbytes
                while left:
                    n = min(left, len(chunk))
                    out.write(chunk[:n])
                    left -= n
        zf.writestr(f"{prefix}/version", "3\n")
        zf.writestr(f"{prefix}/.data/serialization_id", "1234567890")
        for name, data in (extra or {}).items():
            zf.writestr(f"{prefix}/{name}", data)
    return path


def write_legacy_torch(path: Path, shapes: dict[str, tuple[int, ...]], payload: bytes | None = None) -> Path:
    """torch.save(..., _use_new_zipfile_serialization=False): five stacked pickles, then raw storages.
    ``payload`` replaces the third pickle (sys_info) to plant an attack where only stacked-pickle parsing sees it."""
    pkl, storages = state_dict_pickle(shapes)
    with open(path, "wb") as fh:
        fh.write(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2))
        fh.write(pickle.dumps(1001, protocol=2))
        sys_info = {"protocol_version": 1001, "little_endian": True,
                    "type_sizes": {"short": 2, "int": 4, "long": 4}}
        fh.write(payload if payload is not None else pickle.dumps(sys_info, protocol=2))
        fh.write(pkl)
        fh.write(pickle.dumps([st.key for st in storages], protocol=2))
        for st in storages:
            fh.write(struct.pack("<q", st.numel))
            fh.write(bytes(st.numel * 4))
    return path
