"""Chat-template analysis: Jinja server-side template injection and hidden instructions.

A chat template is code the runtime executes on every request. CVE-2024-34359 (llama-cpp-python) rendered
the GGUF ``tokenizer.chat_template`` with a non-sandboxed Jinja environment, so a template walking
``cycler.__init__.__globals__.os`` ran shell commands on load. We never render: the template is parsed with
``SandboxedEnvironment().parse()`` (lexing and parsing only) and the AST is walked for

* attribute or item access to dunders, ``mro`` and private (``_``-prefixed) names — the SSTI primitives;
* the ``attr`` filter and ``attribute=`` arguments (attribute access by string);
* Jinja globals (``cycler``, ``joiner``, ``lipsum``, ``namespace``, ``range``, ``self`` …) used as the base of
  an attribute access — the usual route to Python's object graph;
* attribute or item names built from strings (``~``, ``+``, ``format``, ``join``) — how payloads evade
  name deny-lists; and ``str.format`` fields reaching into attributes (``"{0.__class__}"``);
* ``include`` / ``import`` / ``extends`` (templates loading other files);
* hidden instructions: natural-language text the template itself emits, which no message supplied.

Hidden text policy. The emitted literals are collected (template text, constants in ``{{ }}``, variables
set from constants), role markup of the common families (ChatML, Llama 2/3, Gemma, Mistral, Phi,
DeepSeek, Alpaca …) and special tokens are removed, and what remains is natural language if it has at
least 6 words. Its severity depends on the branch that emits it:
* inside a branch taken when the conversation has *no* system message (``messages[0]['role'] !=
  'system'``, or the ``else`` of ``== 'system'``; also when the polarity of the test is unclear) it is a *default
  system prompt* — the documented behaviour of many models (SmolLM2: "You are a helpful AI assistant
  named SmolLM, trained by Hugging Face") — reported **low** with the text as evidence, so a reviewer sees
  it but a CI gate at medium does not fail on it;
* inside a branch about tools/functions/documents it is tool-use scaffolding: **info**;
* anywhere else — every conversation, every turn, or added to the user's own system prompt (the branch
  taken when a system message *is* present) — it is a **hidden instruction**: **high**.
Invisible characters (zero-width, bidi controls, Unicode tag characters) in emitted text are **high**.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from opentrust.scan.base import Rule, ScanContext, Severity, Source, read_regular

MAX_TEMPLATE = 1 << 20  # real templates are a few KB; larger ones are reported, not parsed

_ssti_help = ("A chat template is executed by the runtime on every request. Replace it with the model family's "
              "official template, and render templates only in a sandbox (jinja2 SandboxedEnvironment, "
              "llama-cpp-python ≥ 0.2.72).")
R_DUNDER = Rule("GGUF-TEMPLATE-SSTI", "TemplateSsti", Severity.critical,
                "chat template reaches into Python internals (Jinja SSTI)",
                "The template accesses dunder or private attributes (__class__, __globals__, mro …), the "
                "primitive of server-side template injection (CVE-2024-34359). " + _ssti_help)
R_ATTR_FILTER = Rule("GGUF-TEMPLATE-ATTR-FILTER", "TemplateAttrFilter", Severity.high,
                     "chat template uses the attr filter",
                     "The attr filter looks attributes up by string, which hides SSTI payloads from name "
                     "checks; chat templates have no need for it. " + _ssti_help)
R_GLOBAL_ESCAPE = Rule("GGUF-TEMPLATE-GLOBAL-ESCAPE", "TemplateGlobalEscape", Severity.critical,
                       "chat template walks from a Jinja global into Python objects",
                       "cycler, joiner, lipsum, namespace, range, self … are Python objects; reading their "
                       "attributes leads to module globals and os. " + _ssti_help)
R_DYNAMIC_ATTR = Rule("GGUF-TEMPLATE-DYNAMIC-ATTRIBUTE", "TemplateDynamicAttribute", Severity.high,
                      "chat template builds attribute names from strings",
                      "An attribute or item name assembled with ~, +, format or join evades deny-lists; "
                      "legitimate templates use constant keys. " + _ssti_help)
R_INCLUDE = Rule("GGUF-TEMPLATE-INCLUDE", "TemplateInclude", Severity.medium,
                 "chat template loads other templates",
                 "include/import/extends make the template read other files through the loader. "
                 + _ssti_help)
R_HIDDEN = Rule("GGUF-TEMPLATE-HIDDEN-INSTRUCTION", "TemplateHiddenInstruction", Severity.high,
                "chat template injects text no message supplied",
                "The template emits natural-language text of its own into the prompt (an instruction the "
                "user never sees). Read the evidence; use the official template if it is not expected.")
R_DEFAULT_SYSTEM = Rule("GGUF-TEMPLATE-DEFAULT-SYSTEM-PROMPT", "TemplateDefaultSystemPrompt", Severity.low,
                        "chat template supplies a default system prompt",
                        "When the conversation has no system message the template adds its own. This is "
                        "common and usually documented; check that the text is what the publisher states.")
R_TOOL_TEXT = Rule("GGUF-TEMPLATE-TOOL-INSTRUCTIONS", "TemplateToolInstructions", Severity.info,
                   "chat template adds tool-use instructions",
                   "Text emitted only when tools or documents are passed; informational.")
R_INVISIBLE = Rule("GGUF-TEMPLATE-INVISIBLE-TEXT", "TemplateInvisibleText", Severity.high,
                   "chat template emits invisible characters",
                   "Zero-width, bidirectional-control or Unicode tag characters in emitted text can smuggle "
                   "instructions a reviewer cannot see. Use the official template.")
R_PARSE = Rule("GGUF-TEMPLATE-PARSE-ERROR", "TemplateParseError", Severity.medium,
               "chat template does not parse",
               "Runtimes fail or fall back to a guessed format, which changes the model's behaviour; a "
               "template crafted to parse differently in other engines is also suspicious.")
R_TOO_LARGE = Rule("GGUF-TEMPLATE-TOO-LARGE", "TemplateTooLarge", Severity.medium,
                   "chat template too large to analyse",
                   "Real chat templates are a few kilobytes; this one was not analysed. Inspect it by hand.")

RULES = [R_DUNDER, R_ATTR_FILTER, R_GLOBAL_ESCAPE, R_DYNAMIC_ATTR, R_INCLUDE, R_HIDDEN, R_DEFAULT_SYSTEM,
         R_TOOL_TEXT, R_INVISIBLE, R_PARSE, R_TOO_LARGE]

_SENSITIVE_ATTRS = {"mro", "func_globals", "func_code", "f_globals", "f_locals", "f_builtins", "f_back",
                    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "co_code", "tb_frame", "tb_next",
                    "im_func", "im_self", "environment", "globals"}
_ESCAPE_GLOBALS = {"cycler", "joiner", "lipsum", "namespace", "range", "dict", "self", "config", "request",
                   "url_for", "get_flashed_messages", "raise_exception", "strftime_now", "loop", "caller",
                   "varargs", "kwargs"}
#: attributes of the loop / namespace / caller objects that templates legitimately read
_SAFE_GLOBAL_ATTRS = {"index", "index0", "revindex", "revindex0", "first", "last", "length", "cycle",
                      "depth", "depth0", "previtem", "nextitem", "changed"}
_STRING_FILTERS = {"join", "format", "replace", "reverse", "lower", "upper", "string", "trim", "first",
                   "last", "title", "capitalize", "center", "urlencode", "e", "escape", "safe"}
_TOOL_WORDS = ("tool", "function", "document", "builtin_tools", "xtools", "json_schema", "response_format")
_FORMAT_ATTR = re.compile(r"\{[^{}]*(\.\s*_|\[\s*_)")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
# Role markup and special tokens of common template families, removed before counting words.
_MARKUP = re.compile(
    r"<\|[^|<>]{0,60}\|>"  # ChatML, Llama 3, Phi (<|im_start|>, <|start_header_id|>, <|user|>)
    r"|<[/]?[A-Za-z_][A-Za-z0-9_.:\-]{0,40}>"  # <start_of_turn>, <s>, </s>, <bos>, <think>
    r"|<｜[^｜]{0,40}｜>"  # DeepSeek full-width bars
    r"|\[/?(?:INST|SYSTEM_PROMPT|AVAILABLE_TOOLS|TOOL_CALLS|TOOL_RESULTS|TOOL_CONTENT)\]"  # Mistral
    r"|<</?SYS>>"  # Llama 2
    r"|#{2,}\s*(?:Instruction|Response|Input|System|User|Assistant)\s*:?"  # Alpaca-style
    r"|\b(?:system|user|assistant|model|tool|ipython|human|bot)\s*:"
)
# role names left on their own line once the markup is gone (ChatML "<|im_start|>system\n")
_ROLE_LINE = re.compile(r"^\s*(?:system|user|assistant|model|tool|ipython)\s*$", re.MULTILINE)
_FAMILIES = {"<|im_start|>": "chatml", "<|start_header_id|>": "llama3", "<start_of_turn>": "gemma",
             "[INST]": "mistral/llama2", "<|user|>": "phi/zephyr", "<｜User｜>": "deepseek",
             "<|begin_of_text|>": "llama3", "<<SYS>>": "llama2"}
_WORD = re.compile(r"[^\W\d_]{2,}")
MIN_WORDS = 6


@dataclass
class TemplateIssue:
    rule: Rule
    message: str
    evidence: str
    line: int | None = None
    severity: Severity | None = None
    properties: dict[str, object] = field(default_factory=dict)


def sniff(head: bytes, size: int) -> bool:
    """Templates are found inside GGUF metadata and tokenizer configs, never as files of their own."""
    return False


def scan(source: Source, ctx: ScanContext) -> None:
    """Analyse ``source`` as a raw Jinja chat template (``chat_template.jinja``)."""
    raw = source.read(0, MAX_TEMPLATE + 1)
    report_template(raw.decode("utf-8", errors="replace"), source, ctx, key=None,
                    too_large=len(raw) > MAX_TEMPLATE)


def report_template(text: str, source: Source, ctx: ScanContext, key: str | None, offset: int | None = None,
                    too_large: bool = False) -> list[TemplateIssue]:
    issues = analyse_template(text) if not too_large else [
        TemplateIssue(R_TOO_LARGE, f"the template has more than {MAX_TEMPLATE} characters", text[:200])]
    for issue in issues:
        where = f" (line {issue.line})" if issue.line else ""
        ctx.report(issue.rule, source, issue.message + where, offset=offset, key=key, evidence=issue.evidence,
                   severity=issue.severity, **issue.properties)
    return issues


def template_family(text: str) -> str | None:
    for marker, family in _FAMILIES.items():
        if marker in text:
            return family
    return None


def analyse_template(text: str) -> list[TemplateIssue]:
    """Parse (never render) a Jinja chat template and return what is wrong with it."""
    if len(text) > MAX_TEMPLATE:
        return [TemplateIssue(R_TOO_LARGE, f"the template has {len(text)} characters", text[:200])]
    import warnings

    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import SandboxedEnvironment

    try:
        with warnings.catch_warnings():  # jinja's lexer warns on odd escapes in string literals
            warnings.simplefilter("ignore")
            ast = SandboxedEnvironment().parse(text)
    except TemplateSyntaxError as exc:
        return [TemplateIssue(R_PARSE, f"syntax error: {exc.message}", _line(text, exc.lineno), exc.lineno)]
    except (RecursionError, MemoryError, ValueError) as exc:
        return [TemplateIssue(R_PARSE, f"the template cannot be parsed: {type(exc).__name__}", text[:200])]
    walker = _Walker(text)
    try:
        walker.walk(ast, ())
    except RecursionError:
        walker.issues.append(TemplateIssue(R_PARSE, "the template nests too deeply to analyse", text[:200]))
    walker.finish()
    return _merge(walker.issues)


_MERGED = {R_DUNDER.id, R_ATTR_FILTER.id, R_GLOBAL_ESCAPE.id, R_DYNAMIC_ATTR.id, R_INCLUDE.id}


def _merge(issues: list[TemplateIssue]) -> list[TemplateIssue]:
    """One finding per SSTI rule and template (a payload touches many attributes), listing them all."""
    out: list[TemplateIssue] = []
    by_rule: dict[str, TemplateIssue] = {}
    for issue in issues:
        first = by_rule.get(issue.rule.id) if issue.rule.id in _MERGED else None
        if first is None:
            if issue.rule.id in _MERGED:
                by_rule[issue.rule.id] = issue
            out.append(issue)
            continue
        if issue.message not in first.message and len(first.message) < 1000:
            first.message += "; " + issue.message
        if issue.evidence not in first.evidence and len(first.evidence) < 2000:
            first.evidence += "\n" + issue.evidence
    return out


def _line(text: str, lineno: int | None) -> str:
    if not lineno:
        return text[:200]
    lines = text.splitlines()
    return lines[lineno - 1][:300] if 0 < lineno <= len(lines) else text[:200]


def _is_sensitive(name: object) -> bool:
    return isinstance(name, str) and (name.startswith("_") or name in _SENSITIVE_ATTRS)


class _Walker:
    def __init__(self, text: str):
        from jinja2 import nodes

        self.n = nodes
        self.text = text
        self.issues: list[TemplateIssue] = []
        self.assigned: dict[str, list[tuple[str, tuple[str, ...]]]] = {}  # name -> literals it may hold
        self.emitted: list[tuple[str, tuple[str, ...], int | None]] = []  # literal, branch tags, line
        self._seen: set[tuple[str, str, int | None]] = set()

    def add(self, rule: Rule, message: str, node: object, severity: Severity | None = None) -> None:
        line = getattr(node, "lineno", None)
        key = (rule.id, message, line)
        if key not in self._seen:
            self._seen.add(key)
            self.issues.append(TemplateIssue(rule, message, _line(self.text, line), line, severity))

    # -- traversal ------------------------------------------------------------------------------------
    def walk(self, node: object, tags: tuple[str, ...]) -> None:
        n = self.n
        if isinstance(node, n.Getattr):
            self._check_attr(node, node.attr, node.node)
        elif isinstance(node, n.Getitem):
            if isinstance(node.arg, n.Const):
                if _is_sensitive(node.arg.value):
                    self._check_attr(node, node.arg.value, node.node)
            elif self._string_built(node.arg):
                self.add(R_DYNAMIC_ATTR, "an item name is built from strings", node)
        elif isinstance(node, n.NSRef) and _is_sensitive(node.attr):
            self.add(R_DUNDER, f"assignment to attribute {node.attr!r}", node)
        elif isinstance(node, n.Filter):
            self._check_filter(node)
        elif isinstance(node, n.Call):
            self._check_call(node)
        elif isinstance(node, n.Const) and isinstance(node.value, str) and _FORMAT_ATTR.search(node.value):
            self.add(R_DUNDER, "a format string reaches into private attributes", node)
        elif isinstance(node, (n.Include, n.Import, n.FromImport, n.Extends)):
            self.add(R_INCLUDE, f"{type(node).__name__.lower()} statement", node)
        elif isinstance(node, n.Output):
            for child in node.nodes:
                for lit in self._literals(child, tags):
                    self.emitted.append((lit[0], lit[1], getattr(child, "lineno", None)))
        elif isinstance(node, n.Assign) and isinstance(node.target, n.Name):
            self.assigned.setdefault(node.target.name, []).extend(self._literals(node.node, tags))
        elif isinstance(node, n.AssignBlock) and isinstance(node.target, n.Name):
            for child in node.body:
                if isinstance(child, n.Output):
                    for sub in child.nodes:
                        self.assigned.setdefault(node.target.name, []).extend(self._literals(sub, tags))
        if isinstance(node, n.If):
            cond = self._condition_tags(node.test)
            # The body runs when the condition holds; the else branch of a test about the system message
            # is still about the system message, but the else of `if tools` is not about tools.
            other = tags + tuple(t for t in cond if t == "system")
            if "system" in cond:
                pol = self._system_polarity(node.test)
                if pol > 0:  # body: the user gave a system message; else: there is none
                    cond, other = cond + ("with-system",), other + ("no-system",)
                elif pol < 0:
                    cond, other = cond + ("no-system",), other + ("with-system",)
            self.walk(node.test, tags)
            for child in node.body:
                self.walk(child, tags + cond)
            for child in [*node.elif_, *node.else_]:
                self.walk(child, other)
            return
        if isinstance(node, n.For):
            inner = tags + ("loop",) + self._condition_tags(node.iter)
            self.walk(node.iter, tags)
            for child in list(node.body) + list(node.else_):
                self.walk(child, inner)
            if node.test is not None:
                self.walk(node.test, tags)
            return
        if isinstance(node, n.Node):
            for child in node.iter_child_nodes():
                self.walk(child, tags)

    def _check_attr(self, node: object, attr: str, base: object) -> None:
        n = self.n
        if _is_sensitive(attr):
            self.add(R_DUNDER, f"access to attribute {attr!r}", node)
        elif isinstance(base, n.Name) and base.name in _ESCAPE_GLOBALS and attr not in _SAFE_GLOBAL_ATTRS:
            self.add(R_GLOBAL_ESCAPE, f"attribute {attr!r} read from the global {base.name!r}", node)

    def _check_filter(self, node: Any) -> None:
        n = self.n
        name = node.name
        if name == "attr":
            args = node.args
            if args and isinstance(args[0], n.Const) and _is_sensitive(args[0].value):
                self.add(R_DUNDER, f"attr filter reads {args[0].value!r}", node)
            else:
                self.add(R_ATTR_FILTER, "the attr filter looks attributes up by string", node)
        for kw in node.kwargs:
            if kw.key != "attribute":
                continue
            if isinstance(kw.value, n.Const) and _is_sensitive(kw.value.value):
                self.add(R_DUNDER, f"{name} filter reads attribute {kw.value.value!r}", node)
            elif self._string_built(kw.value):
                self.add(R_DYNAMIC_ATTR, f"{name} filter attribute built from strings", node)
        if name in ("map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique"):
            for arg in node.args:
                if isinstance(arg, n.Const) and _is_sensitive(arg.value):
                    self.add(R_DUNDER, f"{name} filter reads attribute {arg.value!r}", node)

    def _check_call(self, node: Any) -> None:
        n = self.n
        fn = node.node
        if isinstance(fn, n.Name) and fn.name in ("getattr", "setattr", "eval", "exec", "__import__", "open"):
            self.add(R_DUNDER, f"call to {fn.name}()", node)

    def _string_built(self, node: object) -> bool:
        """True when ``node`` computes a string from pieces (how payload names are disguised)."""
        n = self.n
        if isinstance(node, (n.Concat, n.Add, n.Mod)):
            return any(isinstance(c, n.Const) and isinstance(c.value, str) or self._string_built(c)
                       for c in node.iter_child_nodes())
        if isinstance(node, n.Filter):
            return node.name in _STRING_FILTERS  # type: ignore[attr-defined]
        if isinstance(node, n.Call) and isinstance(node.node, n.Getattr):
            return node.node.attr in ("format", "join", "replace", "format_map", "lower", "upper")
        return False

    # -- emitted literals -----------------------------------------------------------------------------
    def _literals(self, node: object, tags: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
        n = self.n
        if isinstance(node, n.TemplateData):
            return [(node.data, tags)]
        if isinstance(node, n.Const):
            return [(node.value, tags)] if isinstance(node.value, str) else []
        if isinstance(node, n.Concat):
            return [lit for c in node.nodes for lit in self._literals(c, tags)]
        if isinstance(node, (n.Add, n.Mod)):
            return self._literals(node.left, tags) + self._literals(node.right, tags)
        if isinstance(node, n.CondExpr):
            inner = tags + self._condition_tags(node.test)
            return self._literals(node.expr1, inner) + (
                self._literals(node.expr2, inner) if node.expr2 is not None else [])
        if isinstance(node, n.Filter) and node.node is not None and node.name in _STRING_FILTERS:
            return self._literals(node.node, tags)
        if isinstance(node, n.Name):
            return [(lit, tags + t) for lit, t in self.assigned.get(node.name, [])]
        return []  # calls (raise_exception arguments …) and data lookups emit no literal of their own

    def _system_polarity(self, test: object, sign: int = 1) -> int:
        """+1 when ``test`` holds if the conversation has a system message, -1 when it holds if it has none,
        0 when unclear (``messages[0]['role'] == 'system'`` → +1, ``!= 'system'`` → -1, ``not`` flips)."""
        n = self.n
        if isinstance(test, n.Not):
            return self._system_polarity(test.node, -sign)
        if isinstance(test, n.Compare):
            operands = [test.expr, *(o.expr for o in test.ops)]
            if any(isinstance(o, n.Const) and o.value == "system" for o in operands):
                op = test.ops[0].op if test.ops else "eq"
                return sign * (1 if op in ("eq", "in") else -1 if op in ("ne", "notin") else 0)
            return 0
        if isinstance(test, n.Test) and isinstance(test.node, n.Name) and "system" in test.node.name.lower():
            return sign * (1 if test.name == "defined" else -1 if test.name in ("none", "undefined") else 0)
        if isinstance(test, (n.And, n.Or)):
            total = self._system_polarity(test.left, sign) + self._system_polarity(test.right, sign)
            return (total > 0) - (total < 0)
        return 0

    def _condition_tags(self, test: object) -> tuple[str, ...]:
        n = self.n
        out: list[str] = []
        for sub in [test, *test.find_all(n.Node)] if isinstance(test, n.Node) else []:  # type: ignore[union-attr]
            text = ""
            if isinstance(sub, n.Const) and isinstance(sub.value, str):
                text = sub.value.lower()
            elif isinstance(sub, n.Name):
                text = sub.name.lower()
            elif isinstance(sub, n.Getattr):
                text = sub.attr.lower()
            if "system" in text:
                out.append("system")
            if any(w in text for w in _TOOL_WORDS):
                out.append("tools")
        return tuple(dict.fromkeys(out))

    def finish(self) -> None:
        reported: set[tuple[str, str]] = set()
        for literal, tags, line in self.emitted:
            if _INVISIBLE.search(literal):
                chars = sorted({f"U+{ord(c):04X}" for c in _INVISIBLE.findall(literal)})
                self.add_text(R_INVISIBLE, f"emitted text holds invisible characters {', '.join(chars[:8])}",
                              literal, line, reported)
            prose = _ROLE_LINE.sub(" ", _MARKUP.sub("\n", literal))
            if len(_WORD.findall(prose)) < MIN_WORDS:
                continue
            text = " ".join(prose.split())
            if "with-system" in tags and "no-system" not in tags:
                self.add_text(R_HIDDEN, "the template adds its own text to the user's system prompt", text,
                              line, reported)
            elif "system" in tags:
                self.add_text(R_DEFAULT_SYSTEM, "default system prompt used when no system message is given",
                              text, line, reported)
            elif "tools" in tags:
                self.add_text(R_TOOL_TEXT, "tool-use instructions emitted when tools are passed", text, line,
                              reported)
            else:
                where = "in every turn" if "loop" in tags else "in every conversation"
                self.add_text(R_HIDDEN, f"the template adds its own text {where}", text, line, reported)

    def add_text(self, rule: Rule, message: str, text: str, line: int | None,
                 reported: set[tuple[str, str]]) -> None:
        if (rule.id, text) in reported:
            return
        reported.add((rule.id, text))
        family = template_family(self.text)
        self.issues.append(TemplateIssue(rule, message, text[:1000], line,
                                         properties={"template_family": family} if family else {}))


# -- Hugging Face folders ------------------------------------------------------------------------------
_HF_TEMPLATE_FILES = ("tokenizer_config.json", "chat_template.json", "chat_template.jinja")
MAX_CONFIG = 32 * 1024 * 1024  # tokenizer_config.json can embed a vocabulary; larger is not a config


def scan_folder(root: Path, ctx: ScanContext) -> None:
    """Chat templates the transformers loader reads by name: ``tokenizer_config.json`` ``chat_template``
    (a string or a list of ``{name, template}``), ``chat_template.json`` and ``chat_template.jinja``."""
    import json

    for path in _find_named(root, _HF_TEMPLATE_FILES):
        ctx.check_budget()
        source = Source(display=str(path), path=path)  # as the dispatcher shows files: the path as walked
        try:
            raw = read_regular(path, MAX_CONFIG + 1)  # never a FIFO or device named like a config
            if len(raw) > MAX_CONFIG:
                continue
        except OSError:
            continue
        if path.name.endswith(".jinja"):
            report_template(raw.decode("utf-8", errors="replace"), source, ctx, key=None)
            continue
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            continue  # not our finding: the dispatcher reports unreadable configs if it cares
        value = doc.get("chat_template") if isinstance(doc, dict) else None
        if isinstance(value, str):
            report_template(value, source, ctx, key="chat_template")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict) and isinstance(item.get("template"), str):
                    name = item.get("name") if isinstance(item.get("name"), str) else str(i)
                    report_template(item["template"], source, ctx, key=f"chat_template.{name}")


def _find_named(root: Path, names: tuple[str, ...], limit: int = 10_000) -> list[Path]:
    """Files with these names under ``root`` (not following symlinked folders), at most ``limit`` visited."""
    import os

    if root.is_file():
        return [root] if root.name in names else []
    found: list[Path] = []
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root):
        seen += len(filenames)
        found.extend(Path(dirpath) / f for f in filenames if f in names)
        if seen > limit:
            break
    return sorted(found)
