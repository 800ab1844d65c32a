"""What a check is, and what it receives when it runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:
    from opentrust.backends.base import Backend
    from opentrust.report.model import Section
    from opentrust.sampler import Sampler
    from opentrust.session import RunSession
    from opentrust.store import Store
    from opentrust.target import Target

Profile = Literal["quick", "standard"]


@dataclass
class CheckContext:
    """What a check receives: the audit's run session (target, store, fingerprint, run, backends, samplers)
    and the audit's settings."""

    session: "RunSession"
    profile: Profile = "quick"
    seed: int = 0
    #: report progress: (description, completed, total)
    progress: Callable[[str, int, int], None] = lambda desc, done, total: None

    @property
    def target(self) -> "Target":
        return self.session.target

    @property
    def store(self) -> "Store":
        return self.session.store

    @property
    def run_id(self) -> str:
        return self.session.run_id

    @property
    def fingerprint(self) -> str:
        return self.session.fingerprint

    @property
    def use_cache(self) -> bool:
        return self.session.use_cache

    def backend(self) -> "Backend":
        """The target's backend, created once and shared by every check of the run."""
        return self.session.backend()

    def sampler(self, on_sample: Callable[[Any], None] | None = None) -> "Sampler":
        return self.session.sampler(on_sample=on_sample)


class Check(ABC):
    """A unit of the audit. Register an instance with the ``register_checks`` hook."""

    #: stable identifier, used in JSON and for ``--checks``
    name: str = ""
    title: str = ""
    #: lower runs first (cheap static checks before model sampling)
    order: int = 100

    def skip_reason(self, target: "Target") -> str | None:
        """None when the check applies to ``target``; otherwise why it is skipped."""
        return None

    def parameters(self, ctx: CheckContext) -> dict[str, Any]:
        """Parameters recorded in the report so a reader can re-create the run."""
        return {"profile": ctx.profile}

    @abstractmethod
    async def run(self, ctx: CheckContext) -> "Section":
        """Run and return the report section (findings, measurements, tables)."""

    def finalize(self, section: "Section", sections: "list[Section]") -> None:
        """Called once every check has run, with all sections: complete ``section`` with what later checks
        measured (e.g. the AI BOM's model card takes the behaviour results). Default: nothing."""
