"""The peer half of `compare tune`: the same searches in Ray Tune (the controller's overhead per
trial and per report) and in Optuna (TPE's cost per trial, one trial at a time), printed as
`NAME VALUE UNIT` lines with VALUE a throughput. `Sources/CompareTune` runs them in IOCompute.

- empty_trials: trials that report once, random search, FIFO, as many at once as there are CPUs
  (one each, Ray's default), actors reused between trials (as ours are; without that Ray Tune
  starts a process per trial and runs under one trial per second here): 1,000 on our side;
  Ray runs EMPTY_TRIALS (200 by default; --empty-trials=N) and the rates are compared.
- asha_reports: 50 trials of 20 reports each under ASHA (max_t 20, grace 1, rf 4): reports/s.
- tpe_trials: 200 trials of a two-parameter quadratic with TPE (Optuna's defaults), one at a time.
"""
import os
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")

import bench_common as bench


EMPTY_TRIALS = int(bench.option("empty-trials") or 200)


def ray_tune():
    import ray
    from ray import tune

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="ERROR", log_to_driver=False)

    def empty(config):
        tune.report({"score": config["x"]})

    def curve(config):
        for step in range(20):
            tune.report({"score": config["x"] * (step + 1)})

    storage = "/tmp/iocompute-bench-ray-tune"

    def run(trainable, samples, scheduler=None):
        tuner = tune.Tuner(
            trainable,
            param_space={"x": tune.uniform(0, 1)},
            tune_config=tune.TuneConfig(
                num_samples=samples, metric="score", mode="max", scheduler=scheduler, reuse_actors=True
            ),
            run_config=tune.RunConfig(storage_path=storage, verbose=0),
        )
        start = time.perf_counter()
        results = tuner.fit()
        seconds = time.perf_counter() - start
        assert len(results) == samples
        # Every report of every trial (a trial stopped early made fewer).
        reports = sum(result.metrics["training_iteration"] for result in results)
        return seconds, reports

    if bench.wanted("empty_trials"):
        seconds, _ = run(empty, EMPTY_TRIALS)
        bench.report("empty_trials", EMPTY_TRIALS / seconds, "trials/s")
    if bench.wanted("asha_reports"):
        from ray.tune.schedulers import ASHAScheduler

        seconds, reports = run(curve, 50, ASHAScheduler(max_t=20, grace_period=1, reduction_factor=4))
        bench.report("asha_reports", reports / seconds, "reports/s")
    ray.shutdown()


def optuna_tpe():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        x = trial.suggest_float("x", -5, 5)
        y = trial.suggest_float("y", -5, 5)
        return (x - 2) ** 2 + (y + 1) ** 2

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1))
    start = time.perf_counter()
    study.optimize(objective, n_trials=200)
    bench.report("tpe_trials", 200 / (time.perf_counter() - start), "trials/s")


if bench.wanted("empty_trials") or bench.wanted("asha_reports"):
    ray_tune()
if bench.wanted("tpe_trials"):
    optuna_tpe()
