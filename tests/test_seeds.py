"""Several seeds per run (`tabench benchmark --seeds`), bootstrap intervals, `tabench report --ci`, `tabench compare`."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tabench import TabenchError, cli
from tabench.results import Prediction, load_run, read_predictions, write_predictions, write_results
from tabench.seeds import bootstrap_ci, compare_runs, parse_seeds, write_seed_results

from test_train import make_tiny_dataset, tiny_config


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("seeds") / "data", train_per_class=4, val_per_class=2)


@pytest.fixture(scope="module")
def three_seeds(tiny_data, tmp_path_factory):
    from tabench.seeds import run_seeds

    run = tmp_path_factory.mktemp("seedrun") / "run"
    res = run_seeds(tiny_config(epochs=2, deterministic=True), tiny_data, run, [0, 1, 2])
    return run, res


def _fake_run(run, acc: dict, n: int = 40, seed: int = 0):
    """A run whose predictions are right with the given per-file probability (acc[(k, kind)])."""
    rng = np.random.default_rng(seed)
    for k in (1, 2):
        for kind in ("known", "unknown"):
            j = k if kind == "known" else 3 - k
            preds = [Prediction(f"videos/set{j}/{i:03d}.mp4", i % 4, i % 4 if rng.random() < acc[k, kind] else (i + 1) % 4)
                     for i in range(n)]
            write_predictions(run, k, kind, preds)
    return write_results(run, "syn-ta", "fake", "coarse")


def test_parse_seeds():
    assert parse_seeds("0,1,2") == [0, 1, 2] and parse_seeds("7") == [7]
    for bad in ("", "a,b", "1,1", "-1"):
        with pytest.raises(TabenchError):
            parse_seeds(bad)


def test_seeds_change_results_and_the_aggregate_is_their_mean(three_seeds):
    run, res = three_seeds
    seeds = [load_run(run / f"seed{s}") for s in (0, 1, 2)]
    # different seeds train different models: the predictions are not all the same
    preds = [[p.pred for k in (1, 2) for kind in ("known", "unknown") for p in read_predictions(run / f"seed{s}", k, kind)]
             for s in (0, 1, 2)]
    assert preds[0] != preds[1] or preds[1] != preds[2]
    stored = json.loads((run / "results.json").read_text())
    assert stored["seeds"] == [0, 1, 2] and stored["seed_runs"] == ["seed0", "seed1", "seed2"]
    for key in ("known", "unknown", "dabs", "hm"):
        vals = [r["mean"][key] for r in seeds]
        assert stored["mean"][key] == pytest.approx(np.mean(vals))
        assert stored["std"]["mean"][key] == pytest.approx(np.std(vals, ddof=1))
        for i in (0, 1):
            dv = [r["directions"][i][key] for r in seeds]
            assert stored["directions"][i][key] == pytest.approx(np.mean(dv))
            assert stored["std"]["directions"][i][key] == pytest.approx(np.std(dv, ddof=1))
            lo, hi = stored["ci95"]["directions"][i][key]
            assert lo <= hi
        lo, hi = stored["ci95"]["mean"][key]
        assert lo <= stored["mean"][key] + 1e-9 and stored["mean"][key] - 1e-9 <= hi or key == "drel"
    assert json.loads((run / "seed1" / "results.json").read_text())["config"]["seed"] == 1
    # load_run re-derives the aggregate from the seed runs
    assert load_run(run)["mean"]["hm"] == pytest.approx(stored["mean"]["hm"])


def test_multi_seed_report_shows_mean_pm_std_and_ci(three_seeds, capsys):
    run, res = three_seeds
    assert cli.main(["report", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"{res['mean']['hm']:.2f} ± {res['std']['mean']['hm']:.2f}" in out and "[" not in out.split("\n", 3)[-1]
    assert cli.main(["report", str(run), "--ci"]) == 0
    lo, hi = res["ci95"]["mean"]["hm"]
    assert f"[{lo:.2f}, {hi:.2f}]" in capsys.readouterr().out
    assert cli.main(["report", str(run), "--ci", "--format", "csv"]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert "hm_std" in head and "hm_ci_low" in head


def test_multi_seed_results_that_disagree_with_seed_runs_are_refused(three_seeds, tmp_path):
    run, _ = three_seeds
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    stored = json.loads((copy / "results.json").read_text())
    stored["mean"]["hm"] += 5
    (copy / "results.json").write_text(json.dumps(stored))
    with pytest.raises(TabenchError, match="seed runs"):
        load_run(copy)


def test_seed_runs_resume(three_seeds, tiny_data, capsys):
    from tabench.seeds import run_seeds

    run, res = three_seeds
    again = run_seeds(tiny_config(epochs=2, deterministic=True), tiny_data, run, [0, 1, 2])
    assert capsys.readouterr().out.count("finished earlier, skipping") == 6
    assert again["mean"] == pytest.approx(res["mean"])


def test_bootstrap_of_a_run_against_itself_contains_zero(three_seeds, tmp_path, capsys):
    run, _ = three_seeds
    for a, b in ((run, run), (run / "seed0", run / "seed0")):
        res = compare_runs(a, b)
        for row in res["rows"]:
            assert row["diff"] == pytest.approx(0.0)
            lo, hi = row["ci95"]
            assert lo <= 0 <= hi and not row["excludes_zero"]
    assert cli.main(["compare", str(run / "seed0"), str(run / "seed0")]) == 0
    out = capsys.readouterr().out
    assert "excludes 0" in out and "Mean" in out


def test_compare_finds_a_real_difference_and_pairs_videos(tmp_path):
    a = _fake_run(tmp_path / "a", {(1, "known"): .9, (1, "unknown"): .3, (2, "known"): .9, (2, "unknown"): .3}, n=200)
    b = _fake_run(tmp_path / "b", {(1, "known"): .9, (1, "unknown"): .8, (2, "known"): .9, (2, "unknown"): .8}, n=200,
                  seed=1)
    res = compare_runs(tmp_path / "a", tmp_path / "b")
    mean = res["rows"][-1]
    assert mean["direction"] == "Mean" and mean["diff"] == pytest.approx(b["mean"]["hm"] - a["mean"]["hm"])
    assert mean["excludes_zero"] and mean["ci95"][0] > 0
    # intervals come from resampling: a run on 200 videos has a narrower interval than on 20
    small = _fake_run(tmp_path / "s", {(k, x): .6 for k in (1, 2) for x in ("known", "unknown")}, n=20)
    big = _fake_run(tmp_path / "g", {(k, x): .6 for k in (1, 2) for x in ("known", "unknown")}, n=400)
    width = lambda r: np.subtract(*bootstrap_ci([r])["mean"]["hm"][::-1])
    assert width(tmp_path / "g") < width(tmp_path / "s")
    assert small and big


def test_compare_refuses_runs_without_shared_videos(tmp_path):
    _fake_run(tmp_path / "a", {(k, x): .6 for k in (1, 2) for x in ("known", "unknown")})
    run = tmp_path / "b"
    for k in (1, 2):
        for kind in ("known", "unknown"):
            write_predictions(run, k, kind, [Prediction(f"other/{i}.mp4", 0, 0) for i in range(5)])
    write_results(run, "syn-ta", "fake", "coarse")
    with pytest.raises(TabenchError, match="share no test video"):
        compare_runs(tmp_path / "a", run)


def test_single_seed_report_ci_and_aggregate_of_fake_seeds(tmp_path, capsys):
    accs = [{(k, x): p for k in (1, 2) for x in ("known", "unknown")} for p in (.5, .7, .9)]
    for s, acc in enumerate(accs):
        _fake_run(tmp_path / "run" / f"seed{s}", acc, seed=s)
    res = write_seed_results(tmp_path / "run", [0, 1, 2])
    means = [load_run(tmp_path / "run" / f"seed{s}")["mean"]["known"] for s in range(3)]
    assert res["mean"]["known"] == pytest.approx(np.mean(means))
    assert cli.main(["report", str(tmp_path / "run" / "seed0"), "--ci"]) == 0
    assert "[" in capsys.readouterr().out


def test_benchmark_seeds_flag(tiny_data, tmp_path, capsys):
    args = ["benchmark", "--data", str(tiny_data), "--model", "r3d_tiny", "--out", str(tmp_path / "r"),
            "--epochs", "1", "--frames", "4", "--size", "32", "--batch-size", "4", "--workers", "0",
            "--no-progress", "--set", "tensorboard=false", "--set", "threads=1", "--seeds", "3,4"]
    assert cli.main(args) == 0
    assert (tmp_path / "r" / "seed3" / "results.json").is_file() and (tmp_path / "r" / "seed4" / "results.json").is_file()
    assert load_run(tmp_path / "r")["seeds"] == [3, 4]
    assert cli.main(args[:-2] + ["--seeds", "1,x"]) == 2
    assert cli.main(args + ["--seed", "1"]) == 2
