"""`rscbench advise`: answer from which width the init certificate holds for one model family
(rscbench.advise), and print the answer as text or JSON."""

from __future__ import annotations

import argparse
import math

from rscbench.advise import Advice, AdviceQuery, advise
from rscbench.cli.codes import EXIT_OK, EXIT_TASK_FAILED
from rscbench.errors import InvalidArgumentError
from rscbench.store.records import dumps_strict

__all__ = ["advice_text", "advise_command"]

FLAGS = ("activation", "depth", "sigma1", "dataset", "n", "d", "kappa", "loss", "min_width", "max_width")
"""The query's fields, each a flag of the same name (dashes for underscores)."""


def _flag_error(error: InvalidArgumentError) -> InvalidArgumentError:
    """The library's error on a query field or the store, naming the command-line flag instead."""
    if error.argument in (*FLAGS, "budget_seconds", "store"):
        return InvalidArgumentError("--" + error.argument.replace("_", "-"), error.value, error.allowed)
    return error


def advise_command(args: argparse.Namespace) -> int:
    """Answer the query the flags give; exit 3 when a task of the sweep failed or timed out."""
    try:
        query = AdviceQuery(
            **{name: getattr(args, name) for name in FLAGS}, budget_seconds=args.budget_seconds
        )
        advice = advise(query, store=args.store, threads=args.threads)
    except InvalidArgumentError as error:
        raise _flag_error(error) from None
    print(dumps_strict(advice.to_dict()) if args.json else advice_text(advice))
    return EXIT_TASK_FAILED if advice.failed else EXIT_OK


def _g(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.3g}"


def advice_text(advice: Advice) -> str:
    """The advice as the command prints it: the answer, the constants, one line per width, the sweep."""
    query, answer, limit = advice.query, advice.answer, advice.infinite_width
    data = f"{query.dataset} n={query.n}" + (f" d={query.d}" if query.d is not None else "")
    low, high = answer.m_star_ci
    fitted = ", ".join(str(w) for w in answer.fit_widths)
    crossing = (
        f"{answer.observed_crossing} (certified in >= 2 of 3 seeds from there on; the width below it: "
        f"{answer.crossing_below or 'none measured'})"
        if answer.observed_crossing is not None
        else f"none up to width {answer.largest_width}"
    )
    largest = answer.largest_width
    lines = [
        f"{query.activation} depth {query.depth} sigma1={query.sigma1:g} ({data}, kappa {query.kappa:g}, "
        f"{query.loss} loss)",
        f"regime: {answer.regime}",
        f"answer: {answer.how}",
        f"m*: {_g(answer.m_star)} [{_g(low)}, {_g(high)}] (95% CI over seeds and width windows; fitted on "
        f"widths {fitted or 'none'}" + (f"; {answer.m_star_reason}" if answer.m_star_reason else "") + ")",
        f"observed crossing: {crossing}",
        f"theorem's own threshold (Q8, median at width {largest}): {_g(advice.theorem_threshold)}",
        f"c_H = sqrt(m) max-probe ||Hessian of f|| (median at width {largest}): {_g(advice.c_H)}",
        f"infinite width (sigma0 -> sigma1/2): ||g_bar||^2 -> {_g(limit.g_bar_sqnorm)}, "
        f"Gauss-Newton term 2 kappa^2 ||g_bar||^2 -> {_g(limit.gauss_newton)},",
        f"  per-layer factor of the ||g_bar||^2 limit in depth x{_g(limit.per_layer_factor)} "
        f"(depths {limit.depths[0]}-{limit.depths[-1]})",
        "",
        f"{'width':>8} {'certified':>9}  {'regime':<18} {'GN term':>9} {'-lam_min(R)':>11} {'rsc_lower':>10} "
        f"{'c_H':>6} {'thm m':>9} {'gbar/limit':>10}",
    ]
    for row in advice.widths:
        ratio = row.g_bar_sqnorm / row.g_bar_sqnorm_limit if row.g_bar_sqnorm_limit > 0 else math.nan
        lines.append(
            f"{row.width:>8} {f'{row.certified}/{row.seeds}':>9}  {row.regime:<18} {_g(row.gauss_newton):>9} "
            f"{_g(row.minus_lambda_min_R):>11} {_g(row.rsc_lower):>10} {_g(row.c_H):>6} "
            f"{_g(row.theorem_threshold):>9} {_g(ratio):>10}"
        )
    total = advice.tasks_run + advice.tasks_reused
    lines += [
        "",
        f"sweep: {total} tasks ({advice.tasks_run} run, {advice.tasks_reused} reused), "
        f"{advice.sweep_seconds:.1f} s of measured compute, {advice.wall_seconds:.1f} s this call"
        + (f", {advice.failed} failed or timed out" if advice.failed else ""),
        f"stopped: {advice.stopped}",
        f"store: {advice.store}",
    ]
    return "\n".join(lines)
