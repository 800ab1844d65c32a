"""Secrets in text: API keys, access tokens, private keys, passwords in assignments and connection strings.

Rules in the spirit of gitleaks' (written by us, not copied): each rule has **keywords** — lower-case
substrings one of which must occur in the text before its regex runs at all (most text holds none, so most
rules cost one ``in`` test) — a regex whose ``secret`` group is the value, and an optional **entropy**
floor (Shannon bits per character of the value) that tells a random key from ``password = "changeme"``.
Provider tokens with a fixed prefix and length (``ghp_``, ``AKIA``, ``xoxb-``, ``sk_live_``…) need no
entropy; generic assignments (``api_key = …``) need 3.5 bits and at least 12 characters. Obvious
placeholders (``xxxx``, ``<your-key>``, ``${TOKEN}``, ``example``) are never reported.

Work is bounded: the text is cut to ``MAX_CHARS`` characters.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

from opentrust.detectors.base import Detection, Detector, Span

MAX_CHARS = 100_000


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    keywords: tuple[str, ...]
    pattern: re.Pattern[str]
    entropy: float = 0.0  # minimum Shannon entropy (bits/char) of the secret group
    min_len: int = 0
    #: lower-case words one of which every match of ``pattern`` starts with (optional): in ASCII text the pattern
    #: is then tried only where one occurs (``pattern.match`` there gives what ``finditer`` would; lookbehinds and
    #: ``\b`` still see the character before), not at every position — a pattern that starts with a lookbehind or
    #: a case-insensitive alternation is tried at each of a 45k-character text's positions (1-4 ms) otherwise
    heads: tuple[str, ...] = ()


@dataclass(frozen=True)
class SecretMatch(Span):
    """``kind`` is the rule id."""

    def masked(self) -> str:
        return self.value[:4] + "…" if len(self.value) > 8 else "…"


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _rule(rule_id: str, description: str, keywords: str, pattern: str, entropy: float = 0.0,
          min_len: int = 0, flags: int = 0, heads: str = "") -> Rule:
    return Rule(rule_id, description, tuple(keywords.split()), re.compile(pattern, flags), entropy, min_len,
                tuple(heads.split()))


_B = r"(?<![A-Za-z0-9_\-])"  # token boundary before a provider token
_E = r"(?![A-Za-z0-9_\-])"  # and after it
#: a quoted or bare value after ``key = `` / ``key: `` / ``"key": ``
_ASSIGN = r"""(?:\s*["']?\s*(?:=|:|:=|=>)\s*["']?|\s+is\s+["']?)"""

RULES: tuple[Rule, ...] = (
    _rule("private_key", "PEM private key block (RSA, EC, DSA, OpenSSH, PGP, PKCS#8)", "private",
          r"(?P<secret>-----BEGIN[ A-Z0-9]{0,20} PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,8000}?"
          r"(?:-----END[ A-Z0-9]{0,20} PRIVATE KEY(?: BLOCK)?-----|$))"),
    _rule("aws_access_key_id", "AWS access key id", "akia asia abia acca",
          _B + r"(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})" + _E, heads="akia asia abia acca"),
    _rule("aws_secret_access_key", "AWS secret access key in an assignment", "aws",
          r"(?i)aws.{0,20}?(?:secret|key).{0,20}?" + _ASSIGN + r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
          entropy=3.5, heads="aws"),
    _rule("github_token", "GitHub token (personal, OAuth, app, refresh)", "ghp_ gho_ ghu_ ghs_ ghr_",
          _B + r"(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255})" + _E,
          heads="ghp_ gho_ ghu_ ghs_ ghr_"),
    _rule("github_fine_grained_pat", "GitHub fine-grained personal access token", "github_pat_",
          _B + r"(?P<secret>github_pat_[A-Za-z0-9_]{82})" + _E, heads="github_pat_"),
    _rule("gitlab_token", "GitLab personal, project or runner token", "glpat- glptt- glrt-",
          _B + r"(?P<secret>gl(?:pat|ptt|rt)-[A-Za-z0-9_\-]{20,40})" + _E,
          heads="glpat- glptt- glrt-"),
    _rule("slack_token", "Slack bot, user, app or refresh token", "xoxb- xoxp- xoxa- xoxr- xoxs- xoxe",
          _B + r"(?P<secret>xox(?:[bpars]|e(?:\.xox[bp])?)-[0-9A-Za-z\-]{10,200})" + _E, heads="xox"),
    _rule("slack_webhook", "Slack incoming webhook URL", "hooks.slack.com",
          r"(?P<secret>https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9+/]{20,100})"),
    _rule("stripe_key", "Stripe secret or restricted key", "sk_live_ rk_live_ sk_test_ rk_test_",
          _B + r"(?P<secret>(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,99})" + _E, heads="sk_ rk_"),
    _rule("google_api_key", "Google API key", "aiza", _B + r"(?P<secret>AIza[0-9A-Za-z_\-]{35})" + _E,
          heads="aiza"),
    _rule("openai_api_key", "OpenAI API key", "sk-",
          _B + r"(?P<secret>sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,200}T3BlbkFJ[A-Za-z0-9_\-]{20,200}"
          r"|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,200})" + _E, heads="sk-"),
    _rule("anthropic_api_key", "Anthropic API key", "sk-ant-",
          _B + r"(?P<secret>sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,120})" + _E, heads="sk-ant-"),
    _rule("huggingface_token", "Hugging Face access token", "hf_",
          _B + r"(?P<secret>hf_[A-Za-z]{34})" + _E, entropy=3.0, heads="hf_"),
    _rule("npm_token", "npm access token", "npm_", _B + r"(?P<secret>npm_[A-Za-z0-9]{36})" + _E, entropy=3.0,
          heads="npm_"),
    _rule("pypi_token", "PyPI upload token", "pypi-ageichlwas5vcmc",
          _B + r"(?P<secret>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,300})" + _E, heads="pypi-"),
    _rule("sendgrid_api_key", "SendGrid API key", "sg.", _B + r"(?P<secret>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})" + _E,
          heads="sg."),
    _rule("twilio_api_key", "Twilio API key", "sk", _B + r"(?P<secret>SK[0-9a-f]{32})" + _E, entropy=3.0,
          heads="sk"),
    _rule("jwt", "JSON Web Token", "eyj",
          _B + r"(?P<secret>eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,})" + _E, heads="eyj"),
    _rule("azure_storage_key", "Azure storage account key in a connection string", "accountkey",
          r"(?i)AccountKey\s*=\s*(?P<secret>[A-Za-z0-9+/]{86}==)", heads="accountkey"),
    _rule("connection_string_password", "password inside a database or broker URL",
          "://", r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver)"
          r"://[^\s:/@]{1,64}:(?P<secret>[^\s:/@]{6,128})@", entropy=2.5,
          heads="postgres mysql mariadb mongodb redis amqp mssql sqlserver"),
    _rule("generic_secret_assignment", "a password, secret, token or API key assigned a random-looking value",
          "password passwd pwd secret token api_key apikey api-key access_key auth_key client_secret "
          "private_key credential",
          r"(?i)(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|client[_\-]?secret"
          r"|private[_\-]?key|credentials?)[A-Za-z0-9_\-]{0,20}" + _ASSIGN +
          r"(?P<secret>[A-Za-z0-9_\-+/=.!@#$%^&*~]{12,200})(?=[\"'\s,;)}\]]|$)", entropy=3.5, min_len=12,
          heads="passw pwd secret token api access auth client private credential"),
)

_PLACEHOLDER = re.compile(
    r"(?i)x{4,}|\*{3,}|<[^>]*>|\$\{|\{\{|example|sample|placeholder|your[_\-]?(?:api|secret|key|token|pass)|"
    r"redacted|changeme|dummy|fake|test[_\-]?(?:key|token|secret)|^(.)\1+$|\[[A-Z_]+\]|0123456789|abcdefgh"
)


def _placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.search(value))


_GATES = "_:-./"  # characters rare in prose, tried in this order: one search for one skips every keyword holding it


def _keyword_plan(keywords: Iterable[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The distinct keywords grouped by the first of ``_GATES`` each holds ("" for none): a keyword cannot be in
    a text that lacks one of its characters, so a group whose gate is absent is skipped with one search."""
    groups: dict[str, list[str]] = {}
    for k in dict.fromkeys(keywords):
        gate = next((c for c in _GATES if c in k), "")
        groups.setdefault(gate, []).append(k)
    return tuple((g, tuple(ks)) for g, ks in groups.items())


_PLAN = _keyword_plan(k for r in RULES for k in r.keywords)


def keyword_set(keywords: Iterable[str] = (), extra: dict[str, str] | None = None,
                ) -> Callable[[str], set[str]] | None:
    """One C pass for every keyword at once: an RE2 set of the keywords as literals (case-insensitive), whose
    ``Match`` says which occur anywhere in the text (``google-re2``; about 12x faster on 45k characters of prose
    than one ``in`` per keyword, whose short needles such as "sk" stop at most letters). ``extra`` adds named
    regexes (RE2 syntax) whose names are reported too, so a caller asks about its own cues in the same pass.
    The default rules' keywords when ``keywords`` is empty. None when RE2 is not installed."""
    try:
        import re2
    except ImportError:
        return None
    keys = list(dict.fromkeys(keywords or (k for r in RULES for k in r.keywords)))
    matcher = re2.Set.SearchSet(re2.Options())
    for k in keys:
        matcher.Add("(?i)" + re.escape(k))  # case-insensitive: the text need not be lower-cased first
    for name, pattern in (extra or {}).items():
        keys.append(name)
        matcher.Add(pattern)
    matcher.Compile()

    def present(text: str) -> set[str]:
        return {keys[i] for i in matcher.Match(text) or ()}
    return present


_SET = keyword_set()


def present_keywords(lower: str, rules: Iterable[Rule] = RULES) -> set[str]:
    """The keywords of ``rules`` that occur in ``lower`` (lower-cased text), each distinct keyword searched once
    (all in one RE2 pass for the default rules when ``google-re2`` is installed)."""
    if rules is RULES and _SET is not None:
        return _SET(lower)
    plan = _PLAN if rules is RULES else _keyword_plan(k for r in rules for k in r.keywords)
    out: set[str] = set()
    for gate, keys in plan:
        if not gate or gate in lower:
            out.update(k for k in keys if k in lower)
    return out


def find_secrets(text: str, rules: Iterable[Rule] = RULES, present: set[str] | None = None) -> list[SecretMatch]:
    """Every secret in ``text``, in order of position; overlapping matches keep the first rule's (rules are
    ordered from the most specific to the generic assignment). ``present``: the rules' keywords in ``text``
    when the caller has them already (from its own ``keyword_set`` pass over the same text)."""
    text = text[:MAX_CHARS]
    found: list[SecretMatch] = []
    taken: list[tuple[int, int]] = []
    rules = rules if rules is RULES else tuple(rules)
    lower = None
    if present is not None:
        pass
    elif rules is RULES and _SET is not None:  # the keywords case-insensitively: lower-cased only if a rule runs
        present = _SET(text)
    else:
        lower = text.lower()
        present = present_keywords(lower, rules)
    ascii_text = text.isascii()  # then ``lower`` has the same offsets and (?i) matches only ASCII case pairs
    for rule in rules:
        if present.isdisjoint(rule.keywords):
            continue
        if lower is None:
            lower = text.lower()
        for m in (_matches_at_heads(rule, text, lower) if rule.heads and ascii_text else rule.pattern.finditer(text)):
            value = m.group("secret")
            start = m.start("secret")
            end = start + len(value)
            if len(value) < rule.min_len or _placeholder(value):
                continue
            if rule.entropy and shannon_entropy(value) < rule.entropy:
                continue
            if any(a < end and start < b for a, b in taken):
                continue
            taken.append((start, end))
            found.append(SecretMatch(rule.id, value, start))
    return sorted(found, key=lambda s: s.start)


def _matches_at_heads(rule: Rule, text: str, lower: str) -> Iterable[re.Match[str]]:
    """What ``rule.pattern.finditer(text)`` yields, trying the pattern only where one of ``rule.heads`` starts
    (every match starts with one; finditer tries positions left to right and resumes after each match)."""
    starts: set[int] = set()
    for head in rule.heads:
        i = lower.find(head)
        while i >= 0:
            starts.add(i)
            i = lower.find(head, i + 1)
    resume = 0
    for i in sorted(starts):
        if i < resume:
            continue
        m = rule.pattern.match(text, i)
        if m:
            yield m
            resume = max(m.end(), i + 1)


class SecretsDetector(Detector):
    """Labels ``secret`` (an API key, token, private key or password in the response) or ``clean``."""

    name = "secrets"
    positive_label = "secret"
    negative_label = "clean"

    def __init__(self, kinds: Iterable[str] | None = None):
        self.rules = tuple(r for r in RULES if not kinds or r.id in set(kinds))

    def detect(self, prompt: str, response: str) -> Detection:
        found = find_secrets(response, self.rules)
        if not found:
            return Detection("clean", 0.0, "no secret found")
        sample = ", ".join(f"{m.kind} {m.masked()}" for m in found[:3])
        return Detection("secret", 0.99, f"{len(found)} secret(s): {sample}")
