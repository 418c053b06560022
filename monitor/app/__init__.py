"""The composition root: where pingfan's parts meet. `pingfan run`, `collect` and `demo`
(with monitor/cli.py and monitor/demo.py) build the runtime and plug into it the alert rules,
the dispatcher, the health alerts, the chat bot and the digest.

Below the root the arrows point one way: nothing else in monitor/ imports alerts/ (the
daemon has seams: stages, tasks, openers and outage listeners; the runner reports pauses and
recoveries to a callback), and alerts/ uses monitor's foundation (models, config, errors,
store, runlock, apart) but not the runtime, whose clock it is handed (the one exception:
runtime/delays.py, pure Retry-After maths). tests/test_layout.py checks both arrows.

- alerting.py: the rules as a stage after scoring, the dispatcher as a task;
- outages.py: the runner's pauses and recoveries as health alerts in the outbox;
- run.py: `pingfan run`: the daemon, wired;
- collect.py: `pingfan collect --once`: one pass, scored, its alerts sent.
"""
