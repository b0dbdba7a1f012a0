#!/usr/bin/env python3
"""diff.py - `autoscalerd replay` against tests/replay/model.py over random policies.

    diff.py PATH/TO/autoscalerd      (meson passes it; AUTOSCALERD_SRCDIR is the source root)

1. The model still gives every committed NAME.out of the cases (so the .out files are the
   model's, not edited to match the C engine).
2. A few hundred random policies (YAML written here, read by both) and random tick streams,
   from a fixed seed: the C replay and the model must print the same lines. A mismatch
   prints the seed, the policy, the input line and both outputs.

Environment: AUTOSCALERD_REPLAY_SEED (default 3), AUTOSCALERD_REPLAY_CASES (default 600).
Under AUTOSCALERD_VALGRIND=1 (meson test --setup=valgrind) only a handful of cases run, and
this script runs the binary under valgrind itself: valgrind does not trace into Python.
"""

import collections
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model  # noqa: E402

REASONS = ["WithinTolerance", "ScaleUp", "ScaleDown", "ScaleUpLimit", "ScaleDownLimit",
           "TooManyReplicas", "TooFewReplicas", "Stabilized", "Cooldown",
           "MetricUnavailable", "NoReadyReplicas", "NodeCapacity", "Fallback"]

VALGRIND = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible",
            "--errors-for-leak-kinds=definite,indirect,possible"]


# ---- random policies -------------------------------------------------------------------


def duration(rng, lo, hi):
    """A duration of lo..hi seconds, written in one of the accepted forms."""
    s = rng.randint(lo, hi)
    form = rng.random()
    if form < 0.5:
        return s
    if form < 0.65 and s % 60 == 0 and s:
        return "%dm" % (s // 60)
    if form < 0.8 and s >= 60 and s % 60:
        return "%dm%ds" % (s // 60, s % 60)
    if form < 0.9:
        return "%ds" % s
    return "%dms" % (s * 1000 + rng.choice([0, 0, 1, 250, 999]) if s < hi else s * 1000)


def rules(rng, down):
    select = rng.choice(["max", "max", "min", "disabled"])
    pols = []
    for _ in range(rng.randint(0 if select == "disabled" else 1, 3)):
        if rng.random() < 0.5:
            pols.append({"type": "pods", "value": rng.randint(1, 10),
                         "period": duration(rng, 1, 300)})
        else:
            pols.append({"type": "percent", "value": rng.choice([1, 10, 50, 100] if down else [1, 10, 50, 100, 150, 300]),
                         "period": duration(rng, 1, 300)})
    side = {"select": select} if select != "max" or rng.random() < 0.5 else {}
    side["policies"] = pols
    return side


def policy(rng):
    pod = {}
    mn = rng.randint(1, 4)
    mx = mn + rng.choice([0, 1, 3, 8, 20, 200])
    pod["min_replicas"] = mn
    pod["max_replicas"] = mx
    pod["scaling_threshold"] = rng.choice(
        [0.5, 0.4, 1, 0.001, 0.333, max(0.001, round(rng.uniform(0.01, 2), rng.randint(1, 4)))])
    pod["query"] = "sum(x)"  # keeps check's warnings about the default query away
    if rng.random() < 0.3:
        pod["metric_type"] = rng.choice(["value", "average_value"])
    tol = lambda: rng.choice([0, 0.05, 0.1, 0.2, round(rng.uniform(0, 0.5), 2)])  # noqa: E731
    if rng.random() < 0.3:
        pod["tolerance"] = tol()
    if rng.random() < 0.2:
        pod["tolerance_up"] = tol()
    if rng.random() < 0.2:
        pod["tolerance_down"] = tol()
    for key, lo, hi in (("stabilization_window_up", 0, 300), ("stabilization_window_down", 0, 400),
                        ("scaling_cooldown", 0, 200), ("scaling_period_up", 1, 120),
                        ("scaling_period_down", 1, 200)):
        if rng.random() < 0.8:
            pod[key] = duration(rng, lo, rng.choice([lo, hi, hi, hi]) if lo == 0 else hi)
    if rng.random() < 0.3:
        pod["on_empty_result"] = rng.choice(["hold", "zero"])
    if rng.random() < 0.3:
        pod["on_nan"] = rng.choice(["hold", "zero"])
    if rng.random() < 0.3:
        pod["fallback"] = {"failure_threshold": rng.randint(1, 4),
                           "replicas": rng.randint(mn, mx)}
    behavior = {}
    if rng.random() < 0.4:
        behavior["scale_up"] = rules(rng, False)
    if rng.random() < 0.4:
        behavior["scale_down"] = rules(rng, True)
    if behavior:
        pod["behavior"] = behavior

    d = {"name": "random", "target": {"deployment": "random"}}
    cap = rng.random()
    if cap < 0.6:
        if rng.random() < 0.5:
            d["recipe_node_shape"] = rng.choice(["VM.GPU.A10.1", "VM.GPU.A10.2",
                                                 "BM.GPU.A10.4", "BM.GPU.H100.8"])
            gpus = model.SHAPES[d["recipe_node_shape"]]
        else:
            gpus = rng.choice([1, 2, 4, 8])
            d["gpus_per_node"] = gpus
        per = rng.choice([g for g in (1, 1, 2, 3, 4, 8) if g <= gpus])
        if per != 1 or rng.random() < 0.3:
            d["recipe_nvidia_gpu_count"] = per
        rpn = gpus // per
        if cap < 0.3:
            node = {"max_nodes": rng.randint(1, 6)}
            if rng.random() < 0.5:
                node["min_nodes"] = rng.randint(0, node["max_nodes"])
            if rng.random() < 0.7:
                node["scale_down_unneeded_time"] = duration(rng, 0, 300)
            if rng.random() < 0.7:
                node["scale_down_delay_after_add"] = duration(rng, 0, 300)
            d["recipe_node_autoscaling_params"] = node
            nodes_max = node["max_nodes"]
            if rng.random() < 0.3:
                d["recipe_node_pool_size"] = rng.randint(1, 6)
        else:
            nodes_max = rng.randint(1, 4)
            if nodes_max != 1 or rng.random() < 0.5:
                d["recipe_node_pool_size"] = nodes_max
        # config rejects min_replicas above what the pool can host (D3).
        if mn > min(mx, nodes_max * rpn):
            pod["min_replicas"] = max(1, min(mx, nodes_max * rpn))
            if "fallback" in pod:
                pod["fallback"]["replicas"] = rng.randint(pod["min_replicas"], mx)
    if rng.random() < 0.5:
        d["recipe_replica_count"] = rng.randint(0, mx + 3)
    d["recipe_pod_autoscaling_params"] = pod
    return d


# ---- YAML out (block style, flow for rate policies), checked against model's reader -----


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(v)


def flow(v):
    if isinstance(v, dict):
        return "{" + ", ".join("%s: %s" % (k, flow(x)) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    return scalar(v)


def block(d, indent):
    out = []
    for k, v in d.items():
        if isinstance(v, dict) and k not in ("target", "fallback", "scale_up", "scale_down"):
            out.append("%s%s:" % (" " * indent, k))
            out.extend(block(v, indent + 2))
        else:
            out.append("%s%s: %s" % (" " * indent, k, flow(v)))
    return out


def to_yaml(d):
    lines = block(d, 4)
    lines[0] = "  - " + lines[0].lstrip()
    return "policies:\n" + "\n".join(lines) + "\n"


# ---- random ticks ----------------------------------------------------------------------


def ticks(rng, d):
    pod = d["recipe_pod_autoscaling_params"]
    T = pod["scaling_threshold"]
    mx = pod["max_replicas"]
    node = d.get("recipe_node_autoscaling_params")
    step = rng.choice([1, 5, 10, 15, 30, 60])
    t_ms = rng.choice([0, 0, -3600000, 1700000000000, rng.randint(-10 ** 9, 10 ** 9)])
    load = rng.uniform(0, 3)
    out = []
    for _ in range(rng.randint(20, 250)):
        o = {}
        # t: increasing milliseconds, written as an integer, a decimal, or a decimal with
        # sub-millisecond noise that llround(t * 1000) takes away.
        if out:
            g = rng.random()
            if g < 0.05:
                t_ms += rng.randint(1000, 100000) * 1000
            elif g < 0.2:
                t_ms += rng.randint(1, 3 * step * 1000)
            else:
                t_ms += step * 1000
        if t_ms % 1000 == 0 and rng.random() < 0.8:
            o["t"] = t_ms // 1000
        elif rng.random() < 0.8:
            o["t"] = t_ms / 1000
        else:
            o["t"] = (t_ms + rng.choice([0.1, -0.2, 0.4, -0.4])) / 1000
        # value: a random walk of the ratio, with missing data and odd numbers mixed in.
        load = min(6.0, max(0.0, load + rng.gauss(0, 0.3)))
        if rng.random() < 0.05:
            load = rng.choice([0.0, 0.5, 1.0, 2.0, 4.0])
        k = rng.random()
        if k < 0.1:
            o["value"] = rng.choice([None, "NaN", "+Inf", "-Inf", "empty"])
        elif k < 0.13:
            o["value"] = rng.choice([0, 0.0, -1.5, -0.0004, 1e6, 123456.789])
        elif k < 0.2:
            # right at a tolerance edge, in milli-units
            tm = model.llround(T * 1000)
            o["value"] = model.llround(tm * rng.choice([0.9, 1.1, 0.95, 1.05, 0.8, 1.2])) / 1000
        else:
            o["value"] = round(T * load, rng.randint(1, 6))
        if rng.random() < 0.15:
            o["ready"] = rng.randint(0, mx + 2)
        if rng.random() < 0.1:
            o["status"] = rng.randint(0, mx + 2)
        if rng.random() < 0.07:
            o["current"] = rng.randint(0, mx + 5)
        if node and rng.random() < 0.07:
            o["pool_size"] = rng.randint(0, node["max_nodes"] + 2)
        items = list(o.items())
        rng.shuffle(items)
        sep = rng.choice([(",", ":"), (", ", ": ")])
        line = json.dumps(dict(items), separators=sep)
        if rng.random() < 0.03:
            out.append(rng.choice(["", "  ", "\t"]))
        out.append(line)
    return out


# ---- the comparison --------------------------------------------------------------------


def check_cases(src):
    bad = 0
    for path, text in model.case_outputs(os.path.join(src, "tests", "replay")).items():
        try:
            with open(path, encoding="utf-8") as f:
                have = f.read()
        except FileNotFoundError:
            have = None
        if have != text:
            print("FAIL: %s is not what model.py computes (model.py --regen tests/replay "
                  "rewrites it; then check the difference by hand)" % path)
            bad += 1
    return bad


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: diff.py PATH/TO/autoscalerd\n")
        return 2
    binary = sys.argv[1]
    src = os.environ.get("AUTOSCALERD_SRCDIR") or os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "..")
    valgrind = os.environ.get("AUTOSCALERD_VALGRIND") == "1"
    seed = int(os.environ.get("AUTOSCALERD_REPLAY_SEED", "3"))
    n = int(os.environ.get("AUTOSCALERD_REPLAY_CASES", "5" if valgrind else "600"))
    wrap = VALGRIND if valgrind else []

    fails = check_cases(src)
    reasons = collections.Counter()
    lines_total = 0
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        yaml_path = os.path.join(tmp, "policy.yaml")
        ticks_path = os.path.join(tmp, "ticks.jsonl")
        for case in range(n):
            d = policy(rng)
            text = to_yaml(d)
            assert model.parse_yaml(text) == {"policies": [d]}, text
            lines = ticks(rng, d)
            with open(yaml_path, "w", encoding="utf-8") as f:
                f.write(text)
            with open(ticks_path, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")

            p = model.Policy(d)
            want = list(model.replay(p, (json.loads(x) for x in lines if x.strip())))
            run = subprocess.run(wrap + [binary, "replay", "--config", yaml_path, "--input",
                                         ticks_path],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 check=False)
            got = run.stdout.splitlines()
            lines_total += len(want)
            for w in want:
                reasons[json.loads(w)["reason"]] += 1
            if run.returncode == 0 and got == want:
                continue
            fails += 1
            if fails > 3:
                continue
            print("FAIL: seed %d, case %d: exit %d" % (seed, case, run.returncode))
            if run.stderr:
                print("stderr:\n" + run.stderr[-2000:])
            print("policy:\n" + text)
            inputs = [x for x in lines if x.strip()]
            for i in range(max(len(want), len(got))):
                w = want[i] if i < len(want) else "(nothing)"
                g = got[i] if i < len(got) else "(nothing)"
                if w != g:
                    for j in range(max(0, i - 5), i):
                        print("  in  %s\n      %s" % (inputs[j], want[j]))
                    print("  in  %s" % (inputs[i] if i < len(inputs) else "?"))
                    print("  model %s\n  C     %s" % (w, g))
                    break

    print("seed %d: %d cases, %d ticks, %d failures" % (seed, n, lines_total, fails))
    print("reasons: " + ", ".join("%s %d" % (r, reasons[r]) for r in REASONS))
    if not valgrind and n >= 100:
        missing = [r for r in REASONS if not reasons[r]]
        if missing:
            print("FAIL: the random cases never gave: " + ", ".join(missing))
            fails += 1
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
