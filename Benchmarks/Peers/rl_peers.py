"""The peer half of `compare rl`: RLlib's env runners and PPO, Gymnasium's vector environment and
Stable-Baselines3's PPO on CartPole-v1, printed as `NAME VALUE UNIT` lines with VALUE
higher-is-better. `Sources/CompareRL` runs the same workloads in IOCompute.

- rollout_random, rollout_mlp (and the `_processes` rows, the same figures: RLlib's runners are
  always processes): 2 RLlib env runners x 8 CartPole environments, each sampling 4,096 steps
  (512 per environment) at once, with random actions or the default module with 64-64 tanh
  layers; env steps/s, best of 3 after a warm-up.
- vector_random, vector_mlp: `gymnasium.make_vec("CartPole-v1", num_envs=8)` (Gymnasium's own
  default: CartPole's NumPy-vectorised implementation) stepped 1,000 times in this process,
  random actions or a NumPy 64-64 tanh MLP sampled per step.
- ppo_solves_per_hour: RLlib's tuned CartPole PPO (rllib/examples/algorithms/ppo/cartpole_ppo.py)
  with 2 env runners, trained until the mean return of the last 100 episodes reaches 475,
  seeds 1-3: 3600 / mean seconds.
- ppo_solves_per_million_steps: Stable-Baselines3's PPO with the rl-baselines3-zoo CartPole
  settings (8 envs, 32 steps, batch 256, 20 epochs, gamma .98, lambda .8, linear lr 1e-3 and clip
  .2) until the same criterion, seeds 1-3: 10^6 / mean env steps.
"""
import os
import sys
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import numpy as np

import bench_common as bench

SOLVED = 475.0
MAX_STEPS = 1_000_000


def gymnasium_rows():
    import gymnasium as gym

    def run(policy):
        envs = gym.make_vec("CartPole-v1", num_envs=8)
        observations, _ = envs.reset(seed=1)
        rng = np.random.default_rng(2)
        start = time.perf_counter()
        for _ in range(1000):
            actions = policy(observations, rng)
            observations, _, _, _, _ = envs.step(actions)
        return 8000 / (time.perf_counter() - start)

    if bench.wanted("vector_random"):
        random_policy = lambda observations, rng: rng.integers(0, 2, size=8)
        bench.report("vector_random", max(run(random_policy), run(random_policy)), "steps/s")
    if bench.wanted("vector_mlp"):
        rng = np.random.default_rng(1)
        layers = [
            (rng.standard_normal((4, 64)).astype(np.float32) * 0.5, np.zeros(64, np.float32)),
            (rng.standard_normal((64, 64)).astype(np.float32) * 0.2, np.zeros(64, np.float32)),
            (rng.standard_normal((64, 2)).astype(np.float32) * 0.01, np.zeros(2, np.float32)),
        ]

        def mlp_policy(observations, rng):
            x = observations.astype(np.float32)
            for index, (weights, bias) in enumerate(layers):
                x = x @ weights + bias
                if index < 2:
                    x = np.tanh(x)
            probabilities = np.exp(x - x.max(axis=1, keepdims=True))
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            return (rng.random(8) > probabilities[:, 0]).astype(np.int64)

        bench.report("vector_mlp", max(run(mlp_policy), run(mlp_policy)), "steps/s")


def rllib_rollout_rows():
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    config = (
        PPOConfig()
        .environment("CartPole-v1")
        .env_runners(num_env_runners=2, num_envs_per_env_runner=8)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64], fcnet_activation="tanh"))
    )
    algo = config.build_algo()
    group = algo.env_runner_group
    for kind, random_actions in (("random", True), ("mlp", False)):
        if not (bench.wanted(f"rollout_{kind}") or bench.wanted(f"rollout_{kind}_processes")):
            continue
        sample = lambda: group.foreach_env_runner(
            lambda runner: sum(len(episode) for episode in runner.sample(num_timesteps=4096, random_actions=random_actions)),
            local_env_runner=False,
        )
        seconds = bench.best_seconds(sample, rounds=3)
        rate = 8192 / seconds
        bench.report(f"rollout_{kind}", rate, "steps/s")
        bench.report(f"rollout_{kind}_processes", rate, "steps/s")
    algo.stop()


def rllib_solve_row():
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    seconds = []
    for seed in (1, 2, 3):
        config = (
            PPOConfig()
            .environment("CartPole-v1")
            .env_runners(num_env_runners=2)
            .training(lr=0.0003, num_epochs=6, vf_loss_coeff=0.01)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[32], fcnet_activation="linear", vf_share_layers=True))
            .debugging(seed=seed)
        )
        start = time.perf_counter()
        algo = config.build_algo()
        steps, mean = 0, 0.0
        while steps < MAX_STEPS:
            result = algo.train()
            runners = result.get("env_runners", {})
            mean = runners.get("episode_return_mean", 0.0) or 0.0
            steps = result.get("num_env_steps_sampled_lifetime") or runners.get("num_env_steps_sampled_lifetime", 0)
            if mean >= SOLVED:
                break
        seconds.append(time.perf_counter() - start)
        algo.stop()
        print(f"# RLlib PPO seed {seed}: {steps} steps, {seconds[-1]:.1f} s, mean return {mean:.1f}", file=sys.stderr)
    bench.report("ppo_solves_per_hour", 3600 / (sum(seconds) / len(seconds)), "solves/h")


def sb3_solve_row():
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class StopWhenSolved(BaseCallback):
        def _on_step(self):
            buffer = self.model.ep_info_buffer
            return not (len(buffer) > 0 and np.mean([episode["r"] for episode in buffer]) >= SOLVED)

    torch.set_num_threads(2)
    steps = []
    for seed in (1, 2, 3):
        start = time.perf_counter()
        model = PPO(
            "MlpPolicy", make_vec_env("CartPole-v1", n_envs=8, seed=seed), n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
            n_epochs=20, ent_coef=0.0, learning_rate=lambda progress: progress * 1e-3, clip_range=lambda progress: progress * 0.2,
            seed=seed, device="cpu", verbose=0,
        )
        model.learn(total_timesteps=MAX_STEPS, callback=StopWhenSolved())
        steps.append(model.num_timesteps)
        print(f"# Stable-Baselines3 PPO seed {seed}: {model.num_timesteps} steps, {time.perf_counter() - start:.1f} s", file=sys.stderr)
    bench.report("ppo_solves_per_million_steps", 1e6 / (sum(steps) / len(steps)), "solves/Msteps")


def sb3_dqn_row():
    import torch
    from stable_baselines3 import DQN

    torch.set_num_threads(1)
    model = DQN(
        "MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[256, 256]), learning_rate=2.3e-3, batch_size=64,
        buffer_size=100_000, learning_starts=1000, gamma=0.99, target_update_interval=10, train_freq=256,
        gradient_steps=128, exploration_fraction=0.16, exploration_final_eps=0.04, seed=1, device="cpu", verbose=0,
    )
    model.learn(total_timesteps=2048)
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        model.train(gradient_steps=512, batch_size=64)
        best = max(best, 512 / (time.perf_counter() - start))
    bench.report("dqn_gradient_steps", best, "steps/s")


def main():
    gymnasium_rows()
    if bench.wanted("dqn_gradient_steps"):
        sb3_dqn_row()
    rollout_names = [f"rollout_{kind}{suffix}" for kind in ("random", "mlp") for suffix in ("", "_processes")]
    if any(bench.wanted(name) for name in rollout_names) or bench.wanted("ppo_solves_per_hour"):
        import ray

        ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        if any(bench.wanted(name) for name in rollout_names):
            rllib_rollout_rows()
        if bench.wanted("ppo_solves_per_hour"):
            rllib_solve_row()
        ray.shutdown()
    if bench.wanted("ppo_solves_per_million_steps"):
        sb3_solve_row()


if __name__ == "__main__":
    main()
