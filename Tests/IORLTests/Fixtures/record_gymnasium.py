"""Records the Gymnasium trajectories IORL's environment tests replay (pip install gymnasium==1.2.2).
Run from this folder:

    python3 record_gymnasium.py

Writes gymnasium_trajectories.json: for CartPole-v1, Pendulum-v1 and MountainCar-v0 (made with
gymnasium.make, so with their time limits), a few episodes each. An episode holds the seed, the
state right after reset (float64, as the environment keeps it), and per step the action, the
observation (float32, as returned), the state after the step, the reward, and the terminated and
truncated flags. Gymnasium's reset draws from NumPy's PCG64, which IORL does not reproduce: the
tests start each episode from the recorded state and check every step after it.

Actions come from the action space's own sampler, seeded, and for one episode of each from a
simple controller, so that the long paths (CartPole's 500-step truncation, MountainCar reaching
its goal) are covered too.
"""
import json
import gymnasium as gym
import numpy as np


def record(env_id, seeds, controller=None, action_seed=0):
    env = gym.make(env_id)
    env.action_space.seed(action_seed)
    episodes = []
    for seed in seeds:
        observation, _ = env.reset(seed=seed)
        start = [float(v) for v in np.asarray(env.unwrapped.state, dtype=np.float64)]
        steps = []
        while True:
            action = controller(observation) if controller else env.action_space.sample()
            observation, reward, terminated, truncated, _ = env.step(action)
            steps.append({
                "action": [float(a) for a in np.atleast_1d(action)],
                "observation": [float(v) for v in observation],
                "state": [float(v) for v in np.asarray(env.unwrapped.state, dtype=np.float64)],
                "reward": float(reward),
                "terminated": bool(terminated),
                "truncated": bool(truncated),
            })
            if terminated or truncated:
                break
        episodes.append({"seed": seed, "start": start, "steps": steps})
    return episodes


def balance(observation):
    # Pushes toward the side the pole falls to: keeps CartPole up until its time limit.
    _, _, theta, theta_dot = observation
    return 1 if theta + 0.5 * theta_dot > 0 else 0


def pump(observation):
    # Pushes along the velocity: MountainCar gains energy and reaches the flag.
    return 2 if observation[1] >= 0 else 0


fixtures = {
    "gymnasium": gym.__version__,
    "numpy": np.__version__,
    "CartPole-v1": record("CartPole-v1", [0, 1, 2, 3]) + record("CartPole-v1", [4], balance),
    "Pendulum-v1": record("Pendulum-v1", [0, 1], action_seed=1),
    "MountainCar-v0": record("MountainCar-v0", [0], action_seed=2) + record("MountainCar-v0", [5], pump),
}
with open("gymnasium_trajectories.json", "w") as file:
    json.dump(fixtures, file, separators=(",", ":"))
for name in ("CartPole-v1", "Pendulum-v1", "MountainCar-v0"):
    print(name, [(len(e["steps"]), e["steps"][-1]["terminated"], e["steps"][-1]["truncated"]) for e in fixtures[name]])
