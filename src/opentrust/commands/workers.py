"""`opentrust workers`: the Ray cluster as opentrust sees it — nodes, slots in use, which targets each can serve."""

from __future__ import annotations

import json
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import RayAddressOption, guarded


def register(app: typer.Typer) -> None:
    app.command(name="workers")(workers)


@guarded
def workers(
    targets: Annotated[Optional[List[str]], typer.Argument(help="Targets to check on every node: a .gguf file, "
                                                               "smollm2, or openai:<url>#<model>.")] = None,
    ray_address: RayAddressOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Show the Ray cluster: nodes, CPU/GPU slots in use, declared model files, and which targets each node can
    serve (the GGUF file present there, the endpoint reachable from there).

    Example: opentrust workers smollm2 openai:http://10.0.0.5:8080/v1#llama --ray-address 10.0.0.1:6379
    """
    from opentrust.errors import UserError
    from opentrust.executor.ray_cluster import cluster_view

    if fmt not in ("table", "json"):
        raise UserError(f"unknown format {fmt!r}", "use --format table or json")
    view = cluster_view(ray_address, list(targets or []))
    if fmt == "json":
        typer.echo(json.dumps(view, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Ray cluster at {view['address']}: {sum(n['alive'] for n in view['nodes'])} node(s) alive, "
                        f"{view['cpus_in_use']:g}/{view['cpus']:g} CPUs in use", title_justify="left")
    for col in ("node", "address", "alive", "CPUs in use", "GPUs in use", "model files", *(targets or [])):
        table.add_column(col, overflow="fold")
    for n in view["nodes"]:
        cells = ["yes" if t.get("ok") else f"no: {t.get('detail', '')}"
                 for t in (n["targets"].get(s, {"ok": False, "detail": "-"}) for s in targets or [])]
        table.add_row(n["node"], n["address"], "yes" if n["alive"] else "no",
                      f"{n['cpus_in_use']:g}/{n['cpus']:g}" if n["alive"] else "-",
                      f"{n['gpus_in_use']:g}/{n['gpus']:g}" if n["alive"] and n["gpus"] else "-",
                      ", ".join(n["models"]) or "-", *cells)
    Console().print(table)
