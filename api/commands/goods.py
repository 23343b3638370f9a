"""`hazmat goods import|show`: read dangerous-goods lists and look up UN numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from transport import goods
from transport._errors import CatalogueError

app = typer.Typer(
    help="Dangerous-goods catalogue / 危险货物品名表: import lists, look up UN numbers.",
    no_args_is_help=True,
)
console = Console(emoji=False)

CatalogueOption = Annotated[
    Path | None,
    typer.Option(
        "--catalogue",
        help="A CSV list with ADR Table A columns; default: the built-in list / 内置品名表.",
    ),
]


def _import(path: Path) -> goods.ImportReport:
    """Import a list or exit with a clear message."""
    try:
        return goods.import_catalogue_csv(path)
    except CatalogueError as err:
        console.print(f"[red]error / 错误:[/red] {err}")
        raise typer.Exit(code=2) from err


def _rejected_table(report: goods.ImportReport, *, limit: int) -> Table:
    """Tabulate refused rows, one line per faulty column."""
    table = Table(title="Rejected rows / 被拒绝的行")
    for column in ("row / 行", "UN", "column / 列", "reason / 原因"):
        table.add_column(column)
    for rejected in report.rejected[:limit]:
        for error in rejected.errors:
            table.add_row(str(rejected.row_number), rejected.un_number, error.column, error.message)
    return table


@app.command("import")
def import_goods(
    file: Annotated[Path, typer.Argument(help="CSV file, UTF-8, with a header row.")],
    limit: Annotated[int, typer.Option(min=0, help="Rejected rows to list at most.")] = 100,
    strict: Annotated[
        bool, typer.Option(help="Exit with code 1 when any row is rejected.")
    ] = False,
) -> None:
    """Read a dangerous-goods list and print what was accepted and what was rejected, and why."""
    report = _import(file)
    counts = Table(title=f"Import / 导入: {file.name}")
    counts.add_column("what / 项目")
    counts.add_column("count / 数量", justify="right")
    counts.add_row("rows read / 读取行数", str(report.rows_read))
    counts.add_row("accepted / 接受", str(len(report.entries)))
    counts.add_row("UN numbers / UN 编号数", str(len(report.to_catalogue().un_numbers)))
    counts.add_row("rejected / 拒绝", str(len(report.rejected)))
    console.print(counts)
    if report.rejected:
        console.print(_rejected_table(report, limit=limit))
        hidden = len(report.rejected) - limit
        if hidden > 0:
            console.print(f"... {hidden} more rejected rows / 另有 {hidden} 行被拒绝")
        if strict:
            raise typer.Exit(code=1)


@app.command("show")
def show_goods(
    un_number: Annotated[str, typer.Argument(help="UN number, e.g. 1203 or UN1203.")],
    catalogue_file: CatalogueOption = None,
) -> None:
    """Print every catalogue entry of one UN number."""
    catalogue = (
        goods.load_builtin_catalogue()
        if catalogue_file is None
        else _import(catalogue_file).to_catalogue()
    )
    try:
        entries = catalogue.entries_for(un_number)
    except CatalogueError as err:
        console.print(f"[red]error / 错误:[/red] {err}")
        raise typer.Exit(code=2) from err
    if not entries:
        console.print(f"[red]UN {un_number} is not in the catalogue / 品名表中无此 UN 编号[/red]")
        raise typer.Exit(code=1)
    console.print(_entries_table(entries))


def _entries_table(entries: tuple[goods.GoodsEntry, ...]) -> Table:
    """Tabulate entries of one UN number."""
    table = Table(title=f"UN{entries[0].un_number}")
    for column in ("name / 名称", "class", "sub.", "PG", "tunnel", "剧毒", "易制爆", "note"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            "\n".join(name for name in (entry.name_zh, entry.name_en) if name),
            entry.hazard_class,
            " ".join(entry.subsidiary_hazards) or "-",
            entry.packing_group.value if entry.packing_group else "-",
            entry.tunnel_code.value,
            _yes_no(entry.is_highly_toxic),
            _yes_no(entry.is_explosive_precursor),
            entry.note or "-",
        )
    return table


def _yes_no(flag: bool) -> str:
    """Render a flag for a table cell."""
    return "yes / 是" if flag else "no / 否"
