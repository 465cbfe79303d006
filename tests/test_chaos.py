"""Three fixed trials of the chaos bench (`python -m bench.chaos`), through the bench's own code: the real CLI in
processes of its own, killed with SIGKILL, against an emulator with faults, a skewed clock and concurrent
edits; then convergence and the comparison with ground truth, where every count must be 0.

The seeds are chosen to be quick and to cover a lot between them (asserted below, so a change to the planner
cannot quietly turn this into three calm trials): a DST change crossed mid-trial, Jira's clock years behind
(the site is then created through the API) and a day ahead, time zones on both sides of the date line, 429s,
5xx, dropped and truncated answers, index lag above and below the source's search lag, kills during start-up
and while talking to Jira, edits between search pages. The bench itself runs hundreds of such trials.
"""

from __future__ import annotations

import time

from bench.chaos import COUNT_LABELS, Options, TrialResult, plan_trial, problem_lines, run_trials, trial_line

SEEDS = (65, 393, 394)


def test_fixed_seeds_cover_the_failure_modes() -> None:
    plans = [plan_trial(seed) for seed in SEEDS]
    kinds = {kind for plan in plans for kind in plan.fault_kinds}
    assert {"429", "5xx", "drop", "truncate", "lag-below", "lag-above"} <= kinds
    assert {plan.clock for plan in plans} == {"dst", "ahead", "behind"}
    assert any(plan.clock_offset_ms <= -365 * 86_400_000 for plan in plans), "years behind"
    assert any(kill is not None and kill < 0.4 for plan in plans for kill in plan.kills), "kill in start-up"
    assert any(kill is not None and kill >= 0.4 for plan in plans for kill in plan.kills), "kill mid-run"
    assert any(plan.page_edits for plan in plans) and any(plan.use_jql for plan in plans)
    zones = {plan.time_zone for plan in plans} | {plan.switch_zone for plan in plans}
    assert {"Pacific/Pago_Pago", "Europe/Berlin"} <= zones
    assert plan_trial(SEEDS[0]) == plans[0], "a trial is a function of its seed"


def test_chaos_trials_lose_nothing() -> None:
    lines: list[str] = []
    began = time.monotonic()
    results: list[TrialResult] = run_trials(SEEDS, Options(launcher="fork"), parallel=3, echo=lines.append)
    report = "\n".join(lines) + f"\n({time.monotonic() - began:.0f} s)"
    assert len(results) == len(SEEDS), report
    for result in results:
        assert not result.error, report
        assert result.converged, report
        assert any(run.phase == "chaos" for run in result.runs), report
        assert result.counts == dict.fromkeys(COUNT_LABELS, 0), report + "\n" + "\n".join(problem_lines(result))
        assert trial_line(1, 1, result)
    assert sum(o.status == "killed" for r in results for o in r.runs) >= 1, report
    assert sum(sum(r.faulted.values()) for r in results) >= 1, "no fault reached the CLI\n" + report
