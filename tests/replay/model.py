#!/usr/bin/env python3
"""model.py - a reference model of DESIGN.md sections 4 and 5, for `autoscalerd replay`.

    model.py POLICY.yaml [--policy NAME] [TICKS.jsonl]    (stdin without TICKS.jsonl)
    model.py --regen tests/replay      rewrite every NAME.out of the cases (see run.sh)

prints what `autoscalerd replay` must print for well-formed input: one JSON line per tick,
{"t":..,"current":..,"desired":..,"reason":..,"nodes":..}. It is written from the design
text alone, independently of engine/engine.c: plain lists, no deques, every step in the
order and with the arithmetic DESIGN section 4 writes (IEEE doubles; llround, ceil and
trunc as in C). The expected outputs tests/replay/*.out come from it, and
tests/replay/diff.py compares it with the C engine over random policies.

Malformed ticks are not its business (the C parser's tests cover them): it asserts.

The policy file is read with a small YAML subset reader (block mappings and sequences,
flow {..} and [..], plain and quoted scalars, comments), enough for the test policies,
so the tests need no PyYAML.
"""

import json
import math
import re
import sys

# ---- C arithmetic ----------------------------------------------------------------------


def llround(x):
    """C llround: round half away from zero (not Python's round(), which rounds half to
    even). x - floor(x) is exact in IEEE arithmetic, so the comparison is too."""
    a = abs(x)
    f = math.floor(a)
    r = f + 1 if a - f >= 0.5 else f
    return -r if x < 0 else r


def c_ceil(x):
    return math.ceil(x)


def c_trunc(x):
    return math.trunc(x)


def ceil_div(a, b):
    """ceil(a / b) for integers a >= 0, b > 0."""
    return -(-a // b)


# ---- a YAML subset ---------------------------------------------------------------------


class YamlError(Exception):
    pass


def _strip_comment(line):
    q = None
    for i, c in enumerate(line):
        if q:
            if c == q:
                q = None
        elif c in "\"'":
            q = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _scalar(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        body = s[1:-1]
        if s[0] == '"':
            return json.loads(s)
        return body.replace("''", "'")
    if s in ("", "~", "null"):
        return None
    if s == "true":
        return True
    if s == "false":
        return False
    if re.fullmatch(r"[-+]?[0-9]+", s):
        return int(s)
    if re.fullmatch(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?", s):
        return float(s)
    return s


def _flow(s, i):
    """Parse a flow value at s[i]; returns (value, next index)."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] in "{[":
        close = "}" if s[i] == "{" else "]"
        out = {} if close == "}" else []
        i += 1
        while True:
            while i < len(s) and s[i] == " ":
                i += 1
            if i >= len(s):
                raise YamlError("unterminated flow collection: " + s)
            if s[i] == close:
                return out, i + 1
            if close == "}":
                j = s.index(":", i)
                key = _scalar(s[i:j])
                val, i = _flow(s, j + 1)
                out[key] = val
            else:
                val, i = _flow(s, i)
                out.append(val)
            while i < len(s) and s[i] == " ":
                i += 1
            if i < len(s) and s[i] == ",":
                i += 1
    if i < len(s) and s[i] in "\"'":
        q = s[i]
        j = i + 1
        while j < len(s):
            if s[j] == "\\" and q == '"':
                j += 2
                continue
            if s[j] == q:
                if q == "'" and j + 1 < len(s) and s[j + 1] == "'":
                    j += 2
                    continue
                break
            j += 1
        return _scalar(s[i:j + 1]), j + 1
    j = i
    while j < len(s) and s[j] not in ",}]":
        j += 1
    return _scalar(s[i:j]), j


def _value(text):
    text = text.strip()
    if text[:1] in ("{", "["):
        v, i = _flow(text, 0)
        if text[i:].strip():
            raise YamlError("trailing text after a flow value: " + text)
        return v
    return _scalar(text)


def _split_key(content):
    """'key: value' -> (key, value text) or None when content is no mapping entry."""
    if content[:1] in "{[\"'":
        return None
    m = re.match(r"([^:#]+?):(\s+(.*))?$", content)
    if not m:
        return None
    return m.group(1).strip(), (m.group(3) or "")


def _block(lines, i, indent):
    if lines[i][1] == "-" or lines[i][1].startswith("- "):
        out = []
        while i < len(lines) and lines[i][0] == indent and (
                lines[i][1] == "-" or lines[i][1].startswith("- ")):
            item = lines[i][1][1:].strip()
            if not item:
                v, i = _block(lines, i + 1, lines[i + 1][0])
            elif _split_key(item):
                # "- key: value" opens a mapping whose keys sit two columns further in.
                lines[i] = (indent + 2, item)
                v, i = _block(lines, i, indent + 2)
            else:
                v, i = _value(item), i + 1
            out.append(v)
        return out, i
    out = {}
    while i < len(lines) and lines[i][0] == indent:
        kv = _split_key(lines[i][1])
        if not kv:
            raise YamlError("expected 'key: value', found: " + lines[i][1])
        key, rest = kv
        i += 1
        if rest:
            out[key] = _value(rest)
        elif i < len(lines) and (lines[i][0] > indent or (
                lines[i][0] == indent and lines[i][1].startswith("-"))):
            out[key], i = _block(lines, i, lines[i][0])
        else:
            out[key] = None
    if i < len(lines) and lines[i][0] > indent:
        raise YamlError("unexpected indentation: " + lines[i][1])
    return out, i


def parse_yaml(text):
    lines = []
    for raw in text.splitlines():
        s = _strip_comment(raw).rstrip()
        if not s.strip() or s.strip() == "---":
            continue
        if "\t" in s[:len(s) - len(s.lstrip())]:
            raise YamlError("tab in indentation")
        lines.append((len(s) - len(s.lstrip(" ")), s.strip()))
    if not lines:
        return None
    v, i = _block(lines, 0, lines[0][0])
    if i != len(lines):
        raise YamlError("unexpected text: " + lines[i][1])
    return v


# ---- the policy (DESIGN section 3 and docs/configuration.md defaults) -------------------

SHAPES = {
    "VM.GPU.A10.1": 1, "VM.GPU.A10.2": 2, "BM.GPU.A10.4": 4, "VM.GPU2.1": 1,
    "BM.GPU2.2": 2, "VM.GPU3.1": 1, "VM.GPU3.2": 2, "VM.GPU3.4": 4, "BM.GPU3.8": 8,
    "BM.GPU4.8": 8, "BM.GPU.B4.8": 8, "BM.GPU.A100-v2.8": 8, "BM.GPU.H100.8": 8,
    "BM.GPU.H200.8": 8, "BM.GPU.L40S.4": 4, "BM.GPU.L40S-NC.4": 4, "BM.GPU.MI300X.8": 8,
    "BM.GPU.B200.8": 8, "BM.GPU.B300.8": 8, "BM.GPU.GB200.4": 4, "BM.GPU.GB300.4": 4,
}

_UNITS = {"d": 86400000, "h": 3600000, "m": 60000, "s": 1000, "ms": 1}


def duration_ms(v):
    """Integer seconds, or "1h30m", "90s", "500ms" (units d, h, m, s, ms)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v * 1000
    total = 0
    for n, unit in re.findall(r"([0-9]+)(ms|d|h|m|s)", v):
        total += int(n) * _UNITS[unit]
    assert re.fullmatch(r"([0-9]+(ms|d|h|m|s))+", v), "bad duration %r" % v
    return total


class Policy:
    """The engine's view of one policy, times in milliseconds."""

    def __init__(self, d):
        pod = d["recipe_pod_autoscaling_params"]
        node = d.get("recipe_node_autoscaling_params")
        self.name = d["name"]
        self.min = pod.get("min_replicas", 1)
        self.max = pod["max_replicas"]
        self.T = float(pod.get("scaling_threshold", 0.5))
        self.metric_type = pod.get("metric_type", "value")
        tol = float(pod.get("tolerance", 0.1))
        self.tol_up = float(pod.get("tolerance_up", tol))
        self.tol_down = float(pod.get("tolerance_down", tol))
        self.W_up = duration_ms(pod.get("stabilization_window_up", 120))
        self.W_down = duration_ms(pod.get("stabilization_window_down", 180))
        self.C = duration_ms(pod.get("scaling_cooldown", 60))
        self.on_empty = pod.get("on_empty_result", "hold")
        self.on_nan = pod.get("on_nan", "zero")
        fb = pod.get("fallback")
        self.fallback = fb is not None
        self.fb_threshold = fb["failure_threshold"] if fb else 0
        self.fb_replicas = fb["replicas"] if fb else 0
        # Corrino's scaling_period_*: one pod per period; behavior replaces either side.
        behavior = pod.get("behavior") or {}
        self.up = self._rules(behavior.get("scale_up"), pod.get("scaling_period_up", 60))
        self.down = self._rules(behavior.get("scale_down"),
                                pod.get("scaling_period_down", 90))

        # Capacity (D3).
        if "gpus_per_node" in d:
            self.gpus_per_node = d["gpus_per_node"]
        else:
            self.gpus_per_node = SHAPES.get(d.get("recipe_node_shape"), 0)
        self.gpus_per_replica = d.get("recipe_nvidia_gpu_count", 1)
        self.pool_size = d.get("recipe_node_pool_size", 1)
        self.nodes = node is not None
        if self.nodes:
            self.min_nodes = node.get("min_nodes", 1)
            self.max_nodes = node["max_nodes"]
            self.unneeded = duration_ms(node.get("scale_down_unneeded_time", "10m"))
            self.delay_after_add = duration_ms(node.get("scale_down_delay_after_add", "10m"))
        if self.gpus_per_node > 0:
            self.rpn = self.gpus_per_node // self.gpus_per_replica
            nodes_max = self.max_nodes if self.nodes else self.pool_size
            self.max_eff = min(self.max, nodes_max * self.rpn)
        else:
            self.rpn = -1
            self.max_eff = self.max
        # Replay's starting point (DESIGN "Replay").
        self.replica_count = d.get("recipe_replica_count", self.min)
        if self.nodes and "recipe_node_pool_size" not in d:
            self.initial_pool_size = self.min_nodes
        else:
            self.initial_pool_size = self.pool_size

    @staticmethod
    def _rules(side, period):
        if side is None:
            return ("max", [("pods", 1, duration_ms(period))])
        pols = [(p["type"], p["value"], duration_ms(p["period"]))
                for p in side.get("policies") or []]
        return (side.get("select", "max"), pols)


def load_policy(path, name=None):
    with open(path, encoding="utf-8") as f:
        doc = parse_yaml(f.read())
    pols = doc["policies"]
    if name is None:
        assert len(pols) == 1, "several policies: name one"
        return Policy(pols[0])
    for p in pols:
        if p["name"] == name:
            return Policy(p)
    raise KeyError(name)


# ---- the engine: DESIGN section 4 steps 1-9 and section 5 --------------------------------


class State:
    def __init__(self):
        self.fresh = True
        self.R = []          # recommendations (t, r)
        self.U = []          # scale-up events (t, n)
        self.D = []          # scale-down events (t, n)
        self.last_up = None
        self.failures = 0
        self.size = None     # node pool size
        self.unneeded_since = None
        self.last_add = None


def _start(cur, U, D, t, period):
    """cur - sum(U in period) + sum(D in period); strict cutoff: ts > t - period."""
    start = cur
    for ts, n in U:
        if ts > t - period:
            start -= n
    for ts, n in D:
        if ts > t - period:
            start += n
    return start


def tick(p, st, t, cur, kind, value, ready, status, pool_size):
    """One tick. kind: 'number', 'failed', 'nan', 'pos_inf', 'neg_inf', 'empty'.
    ready < 0: cur; status <= 0: cur; pool_size < 0: the state's own.
    Returns (desired, nodes or None, reason)."""
    if ready < 0:
        ready = cur
    if status <= 0:
        status = cur

    # 1. The first tick of a fresh state records the current count.
    if st.fresh:
        st.R.append((t, cur))
    st.fresh = False

    desired, reason = _replicas(p, st, t, cur, kind, value, ready, status)
    return desired, _nodes(p, st, t, desired, pool_size), reason


def _replicas(p, st, t, cur, kind, value, ready, status):
    # 2. Outside [min, max_eff]: straight back in.
    if cur > p.max_eff:
        return p.max_eff, ("NodeCapacity" if p.max_eff < p.max else "TooManyReplicas")
    if cur < p.min:
        return p.min, "TooFewReplicas"

    # 3. Missing data.
    v = None
    if kind == "number":
        v = value
    elif kind == "nan" and p.on_nan == "zero":
        v = 0.0
    elif kind == "empty" and p.on_empty == "zero":
        v = 0.0
    fallback = False
    if v is None:
        st.failures += 1
        if p.fallback and st.failures >= p.fb_threshold:
            r = p.fb_replicas
            fallback = True
        else:
            return cur, "MetricUnavailable"
    else:
        st.failures = 0
        # 4. Raw recommendation, in milli-units.
        m = llround(v * 1000)
        Tm = llround(p.T * 1000)
        if p.metric_type == "value":
            ratio = float(m) / float(Tm)
            if 1 - p.tol_down <= ratio <= 1 + p.tol_up:
                r = cur
            elif ready == 0:
                return cur, "NoReadyReplicas"
            else:
                r = c_ceil(ratio * ready)
        else:
            ratio = float(m) / (float(Tm) * status)
            if 1 - p.tol_down <= ratio <= 1 + p.tol_up:
                r = status
            else:
                r = c_ceil(float(m) / float(Tm))

    # 5. Stabilize over the windows.
    up = down = r
    for ts, x in st.R:
        if ts > t - p.W_up:
            up = min(up, x)
        if ts > t - p.W_down:
            down = max(down, x)
    s = cur
    if s < up:
        s = up
    if s > down:
        s = down
    st.R.append((t, r))
    longest = max(p.W_up, p.W_down)
    st.R = [(ts, x) for ts, x in st.R if not ts <= t - longest]

    # 6. Rate limits.
    limit_reason = None
    if s > cur:
        select, pols = p.up
        if select == "disabled":
            limit = cur
        else:
            props = []
            for typ, val, period in pols:
                start = _start(cur, st.U, st.D, t, period)
                if typ == "pods":
                    props.append(start + val)
                else:
                    props.append(c_ceil(start * (1 + val / 100.0)))
            limit = max(props) if select == "max" else min(props)
        if limit < cur:
            limit = cur
        desired = min(s, min(p.max_eff, limit))
        if desired != s:
            if p.max_eff > limit:
                limit_reason = "ScaleUpLimit"
            elif p.max_eff < p.max:
                limit_reason = "NodeCapacity"
            else:
                limit_reason = "TooManyReplicas"
    elif s < cur:
        select, pols = p.down
        if select == "disabled":
            limit = cur
        else:
            props = []
            for typ, val, period in pols:
                start = _start(cur, st.U, st.D, t, period)
                if typ == "pods":
                    props.append(start - val)
                else:
                    props.append(c_trunc(start * (1 - val / 100.0)))
            limit = min(props) if select == "max" else max(props)
        if limit > cur:
            limit = cur
        desired = max(s, max(p.min, limit))
        if desired != s:
            limit_reason = "ScaleDownLimit" if p.min < limit else "TooFewReplicas"
    else:
        desired = s

    # 7. Cooldown after a scale-up (D2).
    if desired < cur and st.last_up is not None and t - st.last_up < p.C:
        return cur, "Cooldown"

    if limit_reason:
        return desired, limit_reason
    if fallback:
        return desired, "Fallback"
    if desired > cur:
        return desired, "ScaleUp"
    if desired < cur:
        return desired, "ScaleDown"
    if s != r:
        return desired, "Stabilized"
    return desired, "WithinTolerance"


def record_scale(p, st, t, frm, to):
    """8. The scale succeeded (replay: always)."""
    if to > frm:
        st.U.append((t, to - frm))
        st.last_up = t
    elif to < frm:
        st.D.append((t, frm - to))
    longest = max([per for _, _, per in p.up[1] + p.down[1]] or [0])
    st.U = [(ts, n) for ts, n in st.U if ts > t - longest]
    st.D = [(ts, n) for ts, n in st.D if ts > t - longest]


def _nodes(p, st, t, desired, pool_size):
    """9. Section 5, every tick."""
    if not p.nodes:
        return None
    if pool_size >= 0:
        st.size = pool_size
    required = ceil_div(desired, p.rpn)
    required = max(p.min_nodes, min(p.max_nodes, required))
    if required > st.size:
        st.size = required
        st.last_add = t
        st.unneeded_since = None
    elif required < st.size:
        if st.unneeded_since is None:
            st.unneeded_since = t
        if t - st.unneeded_since >= p.unneeded and (
                st.last_add is None or t - st.last_add >= p.delay_after_add):
            st.size = required
            st.unneeded_since = None
    else:
        st.unneeded_since = None
    return st.size


# ---- replay ----------------------------------------------------------------------------

KINDS = {None: "failed", "NaN": "nan", "+Inf": "pos_inf", "-Inf": "neg_inf",
         "empty": "empty"}


def format_t(t):
    """Shortest round-trip form; integers without a decimal point."""
    if t == math.floor(t):
        return str(int(t))
    return repr(t)


def replay(p, objs):
    """objs: the parsed input lines (dicts). Yields the output lines."""
    st = State()
    cur_next = p.replica_count
    pool_next = p.initial_pool_size
    last_ms = None
    for o in objs:
        assert set(o) <= {"t", "value", "ready", "status", "current", "pool_size"}, o
        t = float(o["t"])
        t_ms = llround(t * 1000)
        assert last_ms is None or t_ms > last_ms, "t not increasing"
        last_ms = t_ms
        cur = o.get("current", cur_next)
        v = o["value"]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            kind, value = "number", float(v)
        else:
            kind, value = KINDS[v], 0.0
        pool = o.get("pool_size", pool_next) if p.nodes else -1
        desired, nodes, reason = tick(p, st, t_ms, cur, kind, value, o.get("ready", -1),
                                      o.get("status", 0), pool)
        if desired != cur:
            record_scale(p, st, t_ms, cur, desired)
        cur_next = desired
        if p.nodes:
            pool_next = nodes
        yield '{"t":%s,"current":%d,"desired":%d,"reason":"%s","nodes":%s}' % (
            format_t(t), cur, desired, reason, "null" if nodes is None else nodes)


def read_jsonl(f):
    for line in f:
        if line.strip(" \t\r\n"):
            yield json.loads(line)


def case_outputs(root):
    """Every case under root (the layout of run.sh) -> {path of NAME.out: expected text}.
    An error case (NAME.err, whose first line says "NAME.jsonl:LINE: error: ...") expects
    the output of the lines before LINE; an error case without a NAME.out expects none."""
    import os
    out = {}
    for d in sorted(os.listdir(root)):
        d = os.path.join(root, d)
        many = os.path.join(d, "policies.yaml")
        one = os.path.join(d, "policy.yaml")
        config = many if os.path.isfile(many) else one if os.path.isfile(one) else None
        if not config:
            continue
        for f in sorted(os.listdir(d)):
            if not f.endswith(".jsonl"):
                continue
            name = f[:-len(".jsonl")]
            p = load_policy(config, name if config == many else None)
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                lines = fh.read().split("\n")
            err = os.path.join(d, name + ".err")
            if os.path.isfile(err):
                with open(err, encoding="utf-8") as fh:
                    m = re.match(re.escape(f) + r":([0-9]+): error:", fh.readline())
                assert m, err + ": the first line names no line of " + f
                lines = lines[:int(m.group(1)) - 1]
                if not os.path.isfile(os.path.join(d, name + ".out")) and not any(
                        x.strip(" \t\r") for x in lines):
                    continue
            objs = [json.loads(x) for x in lines if x.strip(" \t\r")]
            text = "".join(x + "\n" for x in replay(p, objs))
            out[os.path.join(d, name + ".out")] = text
    return out


def main(argv):
    args = argv[1:]
    if args[:1] == ["--regen"]:
        # model.py --regen DIR: (re)write every expected output of the cases under DIR.
        for path, text in case_outputs(args[1]).items():
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return 0
    name = None
    if "--policy" in args:
        i = args.index("--policy")
        name = args[i + 1]
        del args[i:i + 2]
    if len(args) not in (1, 2):
        sys.stderr.write("usage: model.py POLICY.yaml [--policy NAME] [TICKS.jsonl]\n")
        return 2
    p = load_policy(args[0], name)
    f = open(args[1], encoding="utf-8") if len(args) == 2 else sys.stdin
    for line in replay(p, read_jsonl(f)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
