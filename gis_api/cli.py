"""The ``gridmap`` command line: database, import/export, demo data and the server."""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from gis_api import services
from gis_api.settings import get_settings
from layers import domain
from layers.errors import GridmapError, ImportRowError
from layers.schema import LAYER_NAMES

if TYPE_CHECKING:
    from gis_api.analyses.common import Projected

console = Console()
err = Console(stderr=True)


class _Guarded(TyperGroup):
    """The root command: no traceback ever reaches a user.

    A user error prints its Chinese message and exits 2; anything unexpected prints a short
    Chinese message with an error id and exits 3, while the traceback goes to the log file
    under that id (and to the screen with ``--debug``).
    """

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # exits, Ctrl-C and usage errors, already said by typer
        except GridmapError as exc:
            raise _fail(exc) from exc
        except KeyboardInterrupt:
            err.print("[yellow]已中断：未完成的事务已回滚[/yellow]")
            raise typer.Exit(130) from None
        except Exception as exc:
            raise _internal(exc, debug=bool(ctx.params.get("debug"))) from exc


def _internal(exc: Exception, *, debug: bool) -> typer.Exit:
    """Log an unexpected failure with its traceback; tell the user its id; return the exit."""
    import traceback

    from gis_api import errors

    eid = errors.error_id()
    path = get_settings().log_path
    try:
        errors.log_to_file(path)
        where = f"详细信息已写入 {path}"
    except OSError:
        where = "日志文件无法写入"
    errors.log.error("internal error %s in the CLI", eid, exc_info=exc)
    err.print(
        f"[red]内部错误（错误编号 {eid}）：命令未完成，数据库未被修改。[/red]\n"
        f"{where}；加 --debug 可在屏幕上显示详细信息。"
    )
    if debug:
        err.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)
    return typer.Exit(3)


app = typer.Typer(
    help="gridmap：社区网格化管理 GIS 系统",
    no_args_is_help=True,
    add_completion=False,
    cls=_Guarded,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="出现内部错误时在屏幕上显示完整的错误追踪")
    ] = False,
) -> None:
    """gridmap：社区网格化管理 GIS 系统"""


db_app = typer.Typer(help="数据库：启动、停止、状态、迁移", no_args_is_help=True)
demo_app = typer.Typer(help="演示数据：加载演示社区、生成任意规模的城市", no_args_is_help=True)
analyze_app = typer.Typer(
    help="分析：15 分钟服务圈、红房子选址、楼长责任区、社区拆分", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(analyze_app, name="analyze")
user_app = typer.Typer(help="用户：新增、列表、改密码、停用、个人访问令牌", no_args_is_help=True)
app.add_typer(user_app, name="user")

_STAGES = {
    "read": "读取",
    "validate": "校验",
    "write": "写入",
    "network": "路网",
    "build": "生成",
    "analyse": "分析",
}

LayerArg = Annotated[str, typer.Argument(help=f"图层：{' '.join(LAYER_NAMES)}")]
CrsOpt = Annotated[
    str | None,
    typer.Option(
        "--crs", help="坐标系：wgs84、cgcs2000、gcj02（高德/腾讯）、bd09（百度）或 EPSG:n"
    ),
]
CommunityOpt = Annotated[str | None, typer.Option("--community", help="社区编号")]


@contextlib.contextmanager
def _progress() -> Iterator[services.Progress]:
    """A rich progress bar per stage, driven by ``progress(stage, done, total)`` calls."""
    bars = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(_STAGES.get(stage, stage), total=total)
        bars.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

    with bars:
        yield update


def _fail(exc: GridmapError) -> typer.Exit:
    """Print a user error with where it happened; return the exit to raise."""
    if isinstance(exc, ImportRowError):
        err.print(f"[red]导入失败，整个文件未写入：共 {exc.total} 处问题[/red]")
        for loc, msg, _ in exc.problems:
            where = "/".join(str(p) for p in loc)
            err.print(f"  [red]✗[/red] {msg}  [dim]({where})[/dim]")
        if exc.total > len(exc.problems):
            err.print(f"  …… 另有 {exc.total - len(exc.problems)} 处问题未列出")
    else:
        where = "/".join(str(p) for p in exc.loc)
        err.print(f"[red]错误：{exc.msg}[/red]" + (f"  [dim]({where})[/dim]" if where else ""))
    return typer.Exit(2)


def _summary(reports: list[services.ImportReport]) -> None:
    table = Table(title="导入结果")
    for col in ("图层", "记录", "新增", "更新", "未变", "拒绝", "耗时"):
        table.add_column(col, justify="left" if col == "图层" else "right")
    for r in reports:
        table.add_row(
            r.layer,
            str(r.rows),
            str(r.added),
            str(r.updated),
            str(r.unchanged),
            str(r.rejected),
            f"{r.seconds:.1f} s",
        )
    console.print(table)
    for crs in sorted({r.crs for r in reports}):
        console.print(f"坐标按 {crs} 读入，存为 WGS84")
    for r in reports:
        if r.edges:
            console.print(f"路网：{r.nodes} 个节点、{r.edges} 条边（围墙处断开，门为唯一通道）")
        if r.ignored_columns:
            console.print(f"[yellow]{r.layer}：未识别、已忽略的列：{'、'.join(r.ignored_columns)}")


# --- db -----------------------------------------------------------------------------------------


@db_app.command("up")
def db_up() -> None:
    """启动数据库（未设置 DATABASE_URL 时启动项目自带的 PostGIS），并迁移到最新结构。"""
    try:
        url, where = services.db_up(get_settings())
    except GridmapError as exc:
        raise _fail(exc) from exc
    console.print(f"[green]数据库已就绪[/green]：{where}\n  {services.safe_url(url)}")


@db_app.command("down")
def db_down() -> None:
    """停止项目自带的 PostGIS。"""
    console.print(services.db_down(get_settings()))


@db_app.command("status")
def db_status() -> None:
    """显示数据库连接、PostGIS 版本、迁移版本和各图层要素数。"""
    try:
        status = services.db_status(get_settings())
    except GridmapError as exc:
        raise _fail(exc) from exc
    console.print(f"数据库：{status['where']}\n  {status['url']}")
    console.print(f"PostGIS：{status['postgis']}    迁移版本：{status['revision']}")
    table = Table("图层", "要素数")
    for layer, count in status["counts"].items():  # type: ignore[attr-defined]
        table.add_row(layer, str(count))
    console.print(table)


@db_app.command("migrate")
def db_migrate() -> None:
    """把数据库迁移到最新结构（alembic upgrade head）。"""
    try:
        revision = services.db_migrate(get_settings())
    except GridmapError as exc:
        raise _fail(exc) from exc
    console.print(f"[green]已迁移到版本 {revision}[/green]")


# --- import / export ------------------------------------------------------------------------------


@app.command("import")
def import_(
    layer: LayerArg,
    file: Annotated[
        Path,
        typer.Argument(help="GeoJSON、GeoPackage、Shapefile（.zip）或 CSV；路网另可 .osm.pbf/.osm"),
    ],
    crs: CrsOpt = None,
    community: CommunityOpt = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="列映射文件（JSON 或两列 CSV）")
    ] = None,
) -> None:
    """导入图层文件：整份文件一个事务，有任何错误则全部不写入；再次导入同一文件会就地更新。"""
    settings = get_settings()
    try:
        with _progress() as progress:
            report = services.import_layer(
                settings,
                layer,
                file,
                crs=crs,
                community=community,
                mapping=mapping,
                progress=progress,
            )
    except GridmapError as exc:
        raise _fail(exc) from exc
    _summary([report])


@app.command("export")
def export(
    layer: LayerArg,
    file: Annotated[
        Path, typer.Argument(help="输出文件：.geojson、.gpkg、.zip（Shapefile）、.csv")
    ],
    crs: CrsOpt = None,
    community: CommunityOpt = None,
    headers: Annotated[str, typer.Option("--headers", help="列名语言：en 或 zh")] = "en",
) -> None:
    """导出图层（默认 WGS84；--crs gcj02 供高德底图叠加）。"""
    try:
        report = services.export_layer(
            get_settings(), layer, file, crs=crs, community=community, headers=headers
        )
    except GridmapError as exc:
        raise _fail(exc) from exc
    console.print(
        f"[green]已导出[/green] {report.layer}：{report.rows} 条 → {report.path}"
        f"（{report.crs}，{report.seconds:.1f} s）"
    )


# --- demo ---------------------------------------------------------------------------------------


@demo_app.command("load")
def demo_load(
    place: Annotated[
        str,
        typer.Option(
            "--place", help="qiaohua（生成的樵华社区）或 haidian（北京海淀真实 OSM 数据）"
        ),
    ] = "qiaohua",
) -> None:
    """加载演示社区（可重复执行：就地更新），并创建每种角色各一个演示用户。"""
    try:
        with _progress() as progress:
            reports = services.load_demo(get_settings(), place, progress=progress)
        community = {"qiaohua": "QH", "haidian": "HD"}.get(place, place)
        users = services.demo_users(get_settings(), community)
    except GridmapError as exc:
        raise _fail(exc) from exc
    _summary(reports)
    table = Table(title="演示用户（密码只显示这一次，请记下；已有用户的密码不变）")
    for col in ("用户名", "角色", "密码"):
        table.add_column(col)
    for username, role, password in users:
        table.add_row(username, role, password or "（已存在，未改）")
    console.print(table)


@demo_app.command("generate")
def demo_generate(
    buildings: Annotated[int, typer.Option("--buildings", min=100, help="楼栋数")] = 50_000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    out: Annotated[Path | None, typer.Option("--out", help="写入 GeoPackage 文件")] = None,
    load: Annotated[bool, typer.Option("--load/--no-load", help="同时写入数据库")] = False,
) -> None:
    """生成任意规模的城市（供基准测试），写入 GeoPackage 和/或数据库。"""
    try:
        with _progress() as progress:
            result = services.generate_city(
                get_settings(),
                buildings=buildings,
                seed=seed,
                out=out,
                load=load,
                progress=progress,
            )
    except GridmapError as exc:
        raise _fail(exc) from exc
    console.print(result)


# --- analyze ------------------------------------------------------------------------------------


def _read(community: str, progress: services.Progress) -> Projected:
    """Read and project a community's layers for an analysis, showing the step."""
    from gis_api.analyses import common

    progress("read", 0, 1)
    with services.transaction(get_settings()) as session:
        p = common.project(session, community)
    progress("read", 1, 1)
    return p


@analyze_app.command("service-circle")
def analyze_service_circle(
    community: Annotated[str, typer.Option("--community", help="社区编号")],
    out: Annotated[Path, typer.Option("--out", help="输出文件：.geojson 或 .csv（每栋楼一行）")],
    metres: Annotated[
        float | None, typer.Option("--metres", help="步行距离上限（米），默认 1000")
    ] = None,
    minutes: Annotated[float | None, typer.Option("--minutes", help="或：步行分钟数")] = None,
    speed: Annotated[float | None, typer.Option("--speed", help="步行速度（米/分钟）")] = None,
    close_gate: Annotated[
        list[str] | None, typer.Option("--close-gate", help="情景：关闭出入口")
    ] = None,
    open_gate: Annotated[
        list[str] | None, typer.Option("--open-gate", help="情景：开放出入口")
    ] = None,
) -> None:
    """15 分钟服务圈：每栋楼到最近开放服务点的步行距离（经出入口、绕开围墙）与覆盖情况。"""
    from gis_api.analyses import common
    from gis_api.analyses import service_circle as circle

    try:
        with _progress() as progress:
            limit = common.limit_m(metres=metres, minutes=minutes, speed_m_per_min=speed)
            p = _read(community, progress)
            progress("analyse", 0, 1)
            what = common.scenario_from(close_gates=close_gate or (), open_gates=open_gate or ())
            result = circle.run(
                p, limit_m=limit, scenario=what, with_areas=False, speed_m_per_min=speed
            )
            progress("analyse", 1, 1)
            table = circle.to_table(result)
            common.write_table(table, out)
            progress("write", 1, 1)
    except GridmapError as exc:
        raise _fail(exc) from exc
    cov = result.coverage
    summary = circle.summaries(result)["community"][0]
    mode = (
        "（无步行路网：按直线距离 × 绕行系数近似）"
        if cov.approximate
        else "（沿步行路网，经出入口）"
    )
    console.print(
        f"步行上限 {cov.limit_m:.0f} 米{mode}\n"
        f"覆盖楼栋 {int(table['covered'].sum())}/{len(table)}，"
        f"覆盖户数 {summary.get('households_covered', 0):.0f}"
        f"（{100 * summary.get('households_covered_share', 0):.1f}%），"
        f"覆盖常住人口 {summary.get('residents_covered', 0):.0f}"
        f"（{100 * summary.get('residents_covered_share', 0):.1f}%）\n已写入 {out}"
    )


@analyze_app.command("venues")
def analyze_venues(
    community: Annotated[str, typer.Option("--community", help="社区编号")],
    k: Annotated[int, typer.Option("--k", min=1, help="新增红房子的个数")],
    out: Annotated[Path, typer.Option("--out", help="输出：.csv、.xlsx、.geojson（每个选址一行）")],
    metres: Annotated[
        float | None, typer.Option("--metres", help="步行距离上限（米），默认 1000")
    ] = None,
    weight_score: Annotated[
        float, typer.Option("--weight-score", help="评分与覆盖的权衡（0=只看覆盖）")
    ] = 0.0,
    demand: Annotated[
        str, typer.Option("--demand", help="residents（人口）或 households（户数）")
    ] = "residents",
    include_incomplete_legal: Annotated[
        bool, typer.Option("--include-incomplete-legal", help="允许法律手续不全的场地")
    ] = False,
    max_per_compound: Annotated[
        int, typer.Option("--max-per-compound", help="每个小区最多新增几处")
    ] = 1,
) -> None:
    """红房子选址：在候选场地中选 k 处，与现有服务点一起步行覆盖最多居民（最大覆盖模型）。"""
    from gis_api.analyses import common, venues

    try:
        with _progress() as progress:
            limit = common.limit_m(metres=metres, minutes=None, speed_m_per_min=None)
            p = _read(community, progress)
            progress("analyse", 0, 1)
            options = venues.Options(
                k=k,
                demand=demand,  # type: ignore[arg-type]  # the analysis refuses any other
                weight_score=weight_score,
                include_incomplete_legal=include_incomplete_legal,
                max_per_compound=max_per_compound,
            )
            result = venues.run(p, options, limit_m=limit)
            progress("analyse", 1, 1)
            common.write_table(venues.to_table(result), out)
    except GridmapError as exc:
        raise _fail(exc) from exc
    plan, approximate = result.plan, result.approximate
    table = Table(title=f"红房子选址（步行 {limit:.0f} 米{'，直线近似' if approximate else ''}）")
    for col in ("名次", "场地", "名称", "新增覆盖人口", "覆盖后人口", "落选的次优"):
        table.add_column(col)
    for _, r in plan.picks.iterrows():
        table.add_row(
            str(r["rank"]),
            str(r["candidate_id"]),
            str(r["name"]),
            f"{r['new_residents']:.0f}",
            f"{r['residents_covered_after']:.0f}",
            str(r["runner_up_id"] or ""),
        )
    console.print(table)
    proof = (
        "已证明最优"
        if plan.optimal
        else f"未证明最优（差距 {plan.gap:.1%}）"
        if plan.gap is not None
        else "未证明最优"
    )
    console.print(
        f"覆盖人口 {plan.before.residents:.0f} → {plan.after.residents:.0f}"
        f"（{plan.before.residents_share:.1%} → {plan.after.residents_share:.1%}）；"
        f"{proof}（{plan.method}，{plan.seconds:.2f} s）；排除 {len(plan.excluded)} 处候选"
        f"{'：' + plan.note if plan.note else ''}\n已写入 {out}"
    )


@analyze_app.command("lead-zones")
def analyze_lead_zones(
    community: Annotated[str, typer.Option("--community", help="社区编号")],
    out: Annotated[Path, typer.Option("--out", help="输出：.csv、.xlsx、.geojson（每栋楼一行）")],
    min_households: Annotated[
        int | None,
        typer.Option(
            "--min-households", help=f"独立楼长的户数门槛，默认 {domain.LEAD_MIN_HOUSEHOLDS}"
        ),
    ] = None,
    min_occupancy: Annotated[
        float | None,
        typer.Option("--min-occupancy", help=f"入住率门槛，默认 {domain.LEAD_MIN_OCCUPANCY:g}"),
    ] = None,
    max_walk_m: Annotated[
        float | None,
        typer.Option(
            "--max-walk-m", help=f"相邻楼栋步行距离（米），默认 {domain.LEAD_MAX_WALK_M:g}"
        ),
    ] = None,
    cross_compounds: Annotated[
        bool, typer.Option("--cross-compounds", help="允许跨小区合并")
    ] = False,
    save: Annotated[bool, typer.Option("--save", help="保存方案（已锁定的责任区不变）")] = False,
) -> None:
    """楼长责任区：按“就近、连片、方便”自动划分，先显示与已保存方案的差异，--save 才保存。"""
    from gis_api.analyses import common
    from gis_api.analyses import lead_zones as lead

    settings = get_settings()
    try:
        with _progress() as progress, services.transaction(settings) as session:
            progress("analyse", 0, 1)
            options = lead.Options(
                min_households=min_households,
                min_occupancy=min_occupancy,
                max_walk_m=max_walk_m,
                cross_compounds=cross_compounds,
            )
            result = lead.run(session, community, settings, options)
            progress("analyse", 1, 1)
            if save:
                counts = lead.save(session, result)
        common.write_table(lead.to_table(result), out)
    except GridmapError as exc:
        raise _fail(exc) from exc
    plan = result.plan
    kinds = lead.kind_counts(result)
    diff = lead.diff_json(plan.diff)
    zones = plan.zones
    console.print(
        f"{len(zones)} 个责任区：独立 {kinds.get('own', 0)} 栋、"
        f"合并 {kinds.get('shared', 0)} 栋（{int((zones['kind'] == 'shared').sum())} 区）、"
        f"轮值 {kinds.get('rotating', 0)} 栋；平均直径 {zones['diameter_m'].mean():.0f} 米"
        f"{'（直线近似）' if plan.approximate else ''}\n"
        f"与已保存方案相比：新增 {len(diff['added'])}、删除 {len(diff['removed'])}、"
        f"变动 {len(diff['changed'])}、不变 {diff['unchanged']}\n"
        + (
            f"已保存 {counts['saved']} 个，锁定保留 {counts['locked']} 个\n"
            if save
            else "未保存（加 --save 保存）\n"
        )
        + f"已写入 {out}"
    )


@analyze_app.command("split")
def analyze_split(
    community: Annotated[str, typer.Option("--community", help="社区编号")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="输出：.csv（每个方案每栋楼一行：plan、building_id、unit_id、part）"
        ),
    ],
    parts: Annotated[int, typer.Option("--parts", help="分成几部分（2–8）")] = 2,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="人口（或户数）均衡容差，默认 0.05")
    ] = 0.05,
    plans: Annotated[int, typer.Option("--plans", help="最多给出几个方案")] = 5,
    by: Annotated[
        str, typer.Option("--by", help="按 residents（人口）或 households（户数）均衡")
    ] = ("residents"),
    boundaries: Annotated[
        Path | None,
        typer.Option("--boundaries", help="新社区边界：.geojson（每个方案每部分一个面）"),
    ] = None,
    lock: Annotated[
        list[str] | None,
        typer.Option(
            "--lock",
            help="锁定：小区（或楼栋）编号=部分（与输出的 part 相同，从 0 起），可重复",
        ),
    ] = None,
    seconds: Annotated[float, typer.Option("--seconds", help="搜索时间（秒）")] = 10.0,
) -> None:
    """社区拆分：小区不拆、各部分连片、人口均衡，给出几个备选方案及各项指标。"""
    from gis_api.analyses import split as split_glue

    if by not in ("residents", "households"):
        raise _fail(GridmapError("--by 只能是 residents 或 households", loc=("by",)))
    locks: dict[Hashable, int] = {}
    for item in lock or []:
        unit, _, part = item.rpartition("=")
        if not unit or not part.strip().isdigit():
            msg = f"--lock {item!r} 应写成 编号=部分，例如 --lock C01=0"
            raise _fail(GridmapError(msg, loc=("lock",)))
        locks[unit.strip()] = int(part)
    if seconds <= 0 or seconds > 600:
        raise _fail(GridmapError("--seconds 应在 0～600 之间", loc=("seconds",)))
    try:
        with _progress() as progress, services.transaction(get_settings()) as session:
            progress("analyse", 0, 1)
            options = split_glue.Options(
                parts=parts,
                tolerance=tolerance,
                plans=plans,
                by="residents" if by == "residents" else "households",
                locks=locks,
                time_budget_s=seconds,
            )
            result = split_glue.run(session, community, options)
            progress("analyse", 1, 1)
        measures = split_glue.measures(result)
        out.parent.mkdir(parents=True, exist_ok=True)
        split_glue.assignments(result).to_csv(out, index=False)
        measures_path = out.with_name(f"{out.stem}-measures.csv")
        measures.to_csv(measures_path, index=False)
        if boundaries is not None:
            from gis_api.analyses import common

            common.write_table(split_glue.boundaries(result), boundaries)
    except GridmapError as exc:
        raise _fail(exc) from exc
    lines = [
        f"方案 {int(r['plan']) + 1}：最大偏差 {float(r['max_deviation_pct']):.1f}%，"
        f"平均紧凑度 {float(r['mean_pp']):.3f}，"
        f"边界沿街 {100 * float(r['street_share']):.0f}%，切分网格 {int(r['grids_cut'])} 个"
        for r in measures.to_dict("records")
    ]
    feasible = "" if result.feasible else "（容差内无可行方案：以下为最接近的方案）\n"
    console.print(
        f"{len(result.plans)} 个方案，分为 {parts} 部分{feasible}\n"
        + "\n".join(lines)
        + f"\n已写入 {out}、{measures_path}"
        + (f"、{boundaries}" if boundaries is not None else "")
    )


# --- users ------------------------------------------------------------------------------------


def _read_password(stdin: bool) -> str:
    """Read a password from standard input (``--password-stdin``) or ask for it twice."""
    import sys

    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("密码", hide_input=True)
    if typer.prompt("再输入一次", hide_input=True) != first:
        raise _fail(GridmapError("两次输入的密码不一致", loc=("password",)))
    return str(first)


PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码（一行）")]


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="用户名（字母、数字、_.@-，2～64 个字符）")],
    role: Annotated[
        str,
        typer.Option("--role", help="admin、planner、officer、field、department 或 viewer"),
    ],
    community: Annotated[
        list[str] | None, typer.Option("--community", help="所属社区编号（可重复）")
    ] = None,
    grid: Annotated[
        list[str] | None, typer.Option("--grid", help="负责的网格编号（可重复）")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="显示的姓名")] = None,
    department: Annotated[
        list[str] | None,
        typer.Option("--department", help="职能部门人员所属部门编号（如 LDS，可重复）"),
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """新增用户。"""
    password = _read_password(password_stdin)
    try:
        services.add_user(
            get_settings(),
            username,
            role=role,
            password=password,
            communities=community or [],
            grids=grid or [],
            display_name=name,
            departments=department or [],
        )
    except GridmapError as exc:
        raise _fail(exc) from exc
    console.print(f"[green]已新增用户[/green] {username}（{role}）")


@user_app.command("list")
def user_list() -> None:
    """列出用户：角色、社区、网格、是否停用。"""
    from layers import accounts

    with services.transaction(get_settings()) as session:
        users = accounts.list_users(session)
    table = Table(title=f"用户（{len(users)} 个）")
    for col in ("用户名", "姓名", "角色", "社区", "网格", "状态"):
        table.add_column(col)
    for u in users:
        table.add_row(
            u.username,
            u.display_name or "",
            u.role,
            "、".join(u.community_codes),
            "、".join(u.grid_codes),
            "停用" if u.disabled else "正常",
        )
    console.print(table)


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="用户名")],
    password_stdin: PasswordStdin = False,
) -> None:
    """修改用户密码（原有登录全部失效）。"""
    from gis_api.auth import hash_password
    from layers import accounts

    password = _read_password(password_stdin)
    with services.transaction(get_settings()) as session:
        accounts.set_password(session, username, hash_password(password))
    console.print(f"[green]已修改密码[/green] {username}：原有登录已全部失效")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="用户名")]) -> None:
    """停用用户（其登录和令牌立即失效）。"""
    from layers import accounts

    with services.transaction(get_settings()) as session:
        accounts.set_disabled(session, username)
    console.print(f"[green]已停用[/green] {username}")


@user_app.command("token")
def user_token(
    username: Annotated[str, typer.Argument(help="用户名")],
    name: Annotated[str, typer.Option("--name", help="令牌用途")] = "QGIS",
) -> None:
    """为用户创建个人访问令牌（供 QGIS 使用，只显示一次）。"""
    token = services.personal_token(get_settings(), username, name)
    console.print(f"个人访问令牌（只显示这一次）：\n{token}")
    console.print("QGIS：认证配置中选“API 头”，名称 Authorization，值 Bearer <令牌>")


# --- serve --------------------------------------------------------------------------------------


@app.command("serve")
def serve(
    port: Annotated[int | None, typer.Option("--port", help="端口，默认 8000")] = None,
    host: Annotated[str | None, typer.Option("--host")] = None,
) -> None:
    """启动 Web 服务（地图与 API）。"""
    import uvicorn

    from gis_api import errors

    settings = get_settings()
    errors.log_to_file(settings.log_path)  # tracebacks of internal errors, by error id
    console.print(f"内部错误的详细信息写入 {settings.log_path}")
    uvicorn.run(
        "gis_api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


# --- events -----------------------------------------------------------------------------------

events_app = typer.Typer(
    help="事件（基层吹哨、部门报到）：导入历史事件、导出事件台账", no_args_is_help=True
)
app.add_typer(events_app, name="events")


@events_app.command("import")
def events_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV 或 Excel（.xlsx）：每个事件一行，表头中文或英文"
            "（至少 小类、描述、上报时间、经度、纬度）"
        ),
    ],
    community: Annotated[str, typer.Option("--community", help="社区编号")],
) -> None:
    """导入历史事件（可含已结案的）：按坐标自动确定网格、小区、楼栋；有任何错误则全部不写入。"""
    from layers.io import events_io

    settings = get_settings()
    try:
        with _progress() as progress, services.transaction(settings, channel="import") as session:
            report = events_io.import_events(
                session, file, community=community, user=settings.cli_user, progress=progress
            )
    except GridmapError as exc:
        raise _fail(exc) from exc
    from layers.events import STATUS_ZH

    counts = "、".join(f"{STATUS_ZH[s]} {n}" for s, n in sorted(report.by_status.items()))
    console.print(
        f"[green]已导入[/green] {report.added} 个事件到社区 {community}"
        f"（{counts}；{report.seconds:.1f} s）"
    )
    if report.ignored_columns:
        console.print(f"[yellow]未识别、已忽略的列：{'、'.join(report.ignored_columns)}")


@events_app.command("export")
def events_export(
    community: Annotated[str, typer.Option("--community", help="社区编号")],
    out: Annotated[Path, typer.Option("--out", help="输出文件：.csv 或 .xlsx（每个事件一行）")],
    headers: Annotated[
        str, typer.Option("--headers", help="表头：zh 中文（给人看）或 en 英文（给程序用）")
    ] = "zh",
) -> None:
    """导出社区的事件台账（含上报人信息：命令行以本地管理员身份运行）。"""
    from datetime import UTC, datetime

    from layers import event_stats
    from layers.io import events_io

    if headers not in ("zh", "en"):
        raise _fail(GridmapError("--headers 只能是 zh 或 en", loc=("headers",)))
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise _fail(GridmapError(f"--out 应为 .csv 或 .xlsx 文件：{out.name}", loc=("out",)))
    now = datetime.now(UTC)
    try:
        with services.transaction(get_settings()) as session:
            scope = event_stats.scope(session, community=community)
            assert scope.community_ids is not None
            rows = events_io.export_rows(session, community_id=scope.community_ids[0], now=now)
        table = events_io.ledger(rows, headers="zh" if headers == "zh" else "en")
        title = None
        if out.suffix.lower() == ".xlsx" and headers == "zh":
            title = events_io.title_of(community, scope.community_name, day=now)
        events_io.write_ledger(table, out, title=title)
    except GridmapError as exc:
        raise _fail(exc) from exc
    console.print(f"[green]已导出[/green] 社区 {community} 的 {len(rows)} 个事件 → {out}")


def main() -> None:
    """Entry point for ``python -m gis_api.cli``."""
    app()


if __name__ == "__main__":
    main()
