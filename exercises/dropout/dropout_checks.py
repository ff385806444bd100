"""Checks for the dropout exercise, with messages that say what was observed and expected.

Each ``check_*`` function runs the student's functions on inputs it makes itself and
raises ``AssertionError`` with an explanation when one behaviour is wrong; when the
student's code raises, the explanation says which call failed and shows their error.
``self_check_summary`` runs them all and lists which pass. The module needs only NumPy;
it is shipped next to the exercise notebook.

Every sentence a student reads comes from ``MESSAGES`` (message id -> template with
named fields), so the checks speak another language by swapping that one table.

Statistical checks allow ``Z`` standard errors around the exact expectation, so a
correct implementation fails one of them about once in a million runs.
"""

import math
import re

import numpy as np

__all__ = ["numeric_gradient", "rel_error", "self_check_summary"]  # and every check_* function, below

Z = 5.0  # standard errors allowed in statistical checks: P(|N(0,1)| > 5) = 5.7e-7

MESSAGES = {
    # --- how a call of the student's code is described
    "call.forward": "in {mode} mode (p = {p}{seed}), for an x of shape {shape} ({dtype})",
    "call.backward": "in {mode} mode (p = {p}{seed}), for a dout of shape {shape} and the cache of that dropout_forward call",
    "call.layers": "for dropout_param = {param} and num_layers = {num_layers}",
    "call.seed": ", seed {seed}",
    "call.no_seed": ", no seed",
    "call.object": "an object of type {kind}",
    "expect.forward": "(out, cache), with out of x's shape",
    "expect.backward.train": "dx = dout * mask, with the mask of that forward call",
    "expect.backward.test": "dx = dout (in test mode the layer is the identity, and there is no mask to apply)",
    "expect.layers": "a list of {num_layers} dicts",
    "raised": "{function} raised {kind} {call}; expected {expected}.\nYour code's error: {kind}: {error}",
    "not_written": "{function} is not written yet: replace raise NotImplementedError() in its cell with your code.",
    "returned_none": "{function} returned {value} = None {call}: does one branch of your code leave {value} unset?",
    "forward.not_pair": (
        "dropout_forward returned {returned} {call}; expected a pair (out, cache), as in CS231n: "
        "return out, cache."
    ),
    "forward.shape": (
        "dropout_forward returned an output of shape {got} for an input of shape {shape} ({mode} mode): "
        "the output must have the input's shape."
    ),
    "backward.shape": "dx has shape {got}, expected the input's shape {shape}.",
    # --- forward pass
    "shape.broadcast": (
        "for an input of shape {shape}, the kept units are the same along axis {axis}: the mask has fewer "
        "dimensions than x and was broadcast. Draw one random number per unit, with the shape of x (x.shape)."
    ),
    "mask.none_kept": "with p = {p} every unit was dropped; about a fraction p should be kept.",
    "mask.values": "with p = {p}, kept units were multiplied by {seen:.4g} (out / x); expected 1/p = {inverse:.4g}, and 0 for dropped units.{hint}",
    "hint.not_scaled": " Kept units are not scaled: inverted dropout divides them by p.",
    "hint.times_p": " Kept units are multiplied by p: inverted dropout divides by p instead.",
    "hint.drop_scale": " That is 1/(1 − p): is p the *keep* probability in your code?",
    "negatives.zeroed": (
        "with p = {p}, every negative input became 0 while positive ones were kept: dropout keeps or drops a "
        "unit whatever its sign. Is there a ReLU (np.maximum(x, 0)) inside your dropout_forward? It belongs "
        "to the layer before."
    ),
    "fraction": "kept fraction {fraction:.3f}, expected {p:.3f} ± {tol:.3f} (p = {p}, {n} units).{hint}",
    "hint.drop_fraction": " Is p the *keep* probability? Your layer drops a fraction p instead.",
    "uniform": "kept fractions {fractions} for p = {ps}; expected the kept fraction to equal p each time.{hint}",
    "hint.normal": (
        " They follow Φ(p), the normal distribution's CDF: the mask compares *normal* draws with p. "
        "Use uniform draws (rng.random), not normal ones."
    ),
    "mean": "in training, out = {ratio:.3f} · x on average ({n} units), expected 1.000 ± {tol:.3f} (p = {p}).{hint}",
    "hint.mean_p": " That is p: without dividing by p, E[out] = p·x, and test time would have to scale by p.",
    "hint.negatives": " Every negative input became 0: is there a ReLU (np.maximum(x, 0)) inside your dropout_forward?",
    "test_mode": "test-mode output differs from x (p = {p}): {hint}",
    "hint.test_times_p": "it is x * p. With inverted dropout the scaling happens in training, so test time does nothing.",
    "hint.test_zeros": "{share:.0%} of the units are zero: no mask may be applied at test time.",
    "hint.test_ratio": "out / x is about {ratio:.3g}.",
    "seed.same_seed_differs": (
        "two calls with the same seed ({seed}) gave different outputs: draw the mask from a generator seeded "
        "with dropout_param['seed'] when it is given."
    ),
    "seed.ignored": "seeds {seed} and {other} gave the same output: the mask must depend on the seed.",
    "seed.fixed": (
        "two calls without a seed gave the same output: without dropout_param['seed'], each call must draw a "
        "fresh mask (do not fall back to a fixed seed)."
    ),
    "dtype": (
        "the output is {got} for {dtype} input ({mode} mode); expected {dtype}. A float64 mask turns float32 "
        "data into float64: cast the result with .astype(x.dtype)."
    ),
    "in_place.forward": (
        "dropout_forward changed its input x ({mode} mode): compute a new array, e.g. out = x * mask, rather "
        "than x *= mask."
    ),
    "in_place.backward": (
        "dropout_backward changed its input dout ({mode} mode): compute a new array, e.g. dx = dout * mask, "
        "rather than dout *= mask."
    ),
    "bad.what_p": "p = {p}",
    "bad.what_mode": "mode = {mode!r}",
    "bad.no_message": "the ValueError for {what} has no message: say what is wrong.",
    "bad.other_error": (
        "dropout_forward raised {kind} for {what}, not ValueError: {advice}\nYour code's error: {kind}: {error}"
    ),
    "bad.advice_assert": (
        "an assert statement raises AssertionError. Test the value yourself and raise ValueError with a "
        "message that names it."
    ),
    "bad.advice_other": (
        "check p and mode at the start of dropout_forward and raise ValueError with a message that names the "
        "bad value (p is a keep probability in (0, 1]; mode is 'train' or 'test')."
    ),
    "bad.accepted": (
        "dropout_forward accepted {what}: raise ValueError (p is a keep probability in (0, 1]; mode is 'train' "
        "or 'test')."
    ),
    # --- backward pass
    "backward.mask": "dx differs from dout * mask, the mask of the forward pass (p = {p}): {hint}",
    "hint.dx_is_dout": "dx equals dout: in training, multiply dout by the mask.",
    "hint.dx_no_scale": "dx lacks the 1/p factor: use the same scaled mask as the forward pass.",
    "hint.dx_times_p": "dx is p times too small: use the same scaled mask as the forward pass.",
    "hint.dx_error": "largest relative error {error:.2e}.",
    "hint.forward_zeroes_negatives": (
        "your dropout_forward zeroes negative inputs (a ReLU inside it?), so its output is not x * mask: fix "
        "dropout_forward first."
    ),
    "backward.other_mask": (
        "without a seed (p = {p}), dx does not pass gradient through exactly the units that the forward call "
        "kept: {hint}"
    ),
    "hint.redrawn": (
        "{share:.0%} of the units differ, so the backward pass used another mask. A cache that holds only the "
        "seed (or the shape) redraws the mask in the backward pass, which gives the same mask only when a seed "
        "is set; keep the mask itself in the cache."
    ),
    "gradient.not_reproducible": (
        "dropout_forward gave different outputs for the same seed, so no numeric gradient can be computed: a "
        "gradient check needs a reproducible mask (see the seed check)."
    ),
    "gradient": "dx differs from the numeric gradient: relative error {error:.2e}, expected < 1e-8{hint}",
    "backward.test_mode": (
        "test-mode dx differs from dout (p = {p}): in test mode the layer is the identity, so its gradient "
        "passes dout through unchanged."
    ),
    # --- one seed, many layers
    "layers.changed_input": "layer_dropout_params changed the dropout_param it was given: work on copies.",
    "layers.count": "layer_dropout_params returned {count} dicts for {num_layers} layers.",
    "layers.not_list": "layer_dropout_params returned {returned}; expected a list of {num_layers} dicts.",
    "layers.not_dict": "layer {layer}'s dropout_param is a {kind}, not a dict.",
    "layers.settings": (
        "layer {layer} has p = {got_p!r}, mode = {got_mode!r}; expected the network's p = {p}, mode = {mode!r}."
    ),
    "layers.shared_dict": "several layers share one dict object: give each layer a dict of its own.",
    "layers.no_seed": "with network seed {seed}, layer {layer} has no seed",
    "layers.seed_type": "with network seed {seed}, layer {layer}'s seed is {found}",
    "layers.not_integer": (
        "{problem}: every layer needs an integer seed of its own, because CS231n's interface takes "
        "dropout_param['seed'] as an integer (its dropout_forward calls np.random.seed with it). "
        "int(child.generate_state(1)[0]) turns a child SeedSequence into one."
    ),
    "layers.not_reproducible": "seed {seed} gave layer seeds {first}, then {again}: they must be reproducible.",
    "layers.seed_ignored": "seeds {seed} and {other} gave the same layer seeds {first}.",
    "layers.agree": (
        "layers {a} and {b} agree on {agree:.3f} of the units, expected {expected:.3f} ± {tol:.3f} for "
        "independent masks (p² + (1 − p)² with p = {p}).{hint}"
    ),
    "hint.same_units": " They drop exactly the same units: do all layers get the same seed?",
    "across.collide": (
        "network seeds {seed_a} and {seed_b} both give a layer the seed {layer_seed} (layer {layer_a} of the "
        "first, layer {layer_b} of the second), so runs with these seeds share that mask. Seed plus layer index "
        "does this; SeedSequence(seed).spawn(num_layers) gives seeds that no other network seed reuses."
    ),
    "across.agree": (
        "layer {layer_a} of network seed {seed_a} and layer {layer_b} of network seed {seed_b} agree on "
        "{agree:.3f} of the units, expected {expected:.3f} ± {tol:.3f} for unrelated masks (p = {p}): the "
        "masks of runs with different seeds must be unrelated."
    ),
    "layers.seeded_without_seed": (
        "without a network seed, layers {layers} still got a seed: they would drop the same units at every "
        "training step. Leave 'seed' out when the network has none."
    ),
    # --- the summary of all self-checks
    "summary.all_pass": "All {total} self-checks pass. Grading runs them again with other shapes, keep probabilities and seeds.",
    "summary.some_fail": "{passed} of {total} self-checks pass; the others say what is wrong:",
    "summary.pass": "  ✓ {title}",
    "summary.fail": "  ✗ {title}\n      {reason}",
    "title.check_output_shape": "the mask has the input's full shape",
    "title.check_mask_values": "kept units are scaled by 1/p, dropped ones are 0",
    "title.check_kept_fraction": "a fraction p of the units is kept",
    "title.check_uniform_draws": "the mask compares uniform draws with p",
    "title.check_training_mean": "the expected training output equals the input",
    "title.check_test_mode_identity": "test mode does nothing",
    "title.check_reproducible_with_seed": "the same seed gives the same mask",
    "title.check_fresh_mask_without_seed": "without a seed, every call draws a new mask",
    "title.check_keeps_dtype": "the output keeps the input's dtype",
    "title.check_rejects_bad_input": "a bad p or mode raises ValueError",
    "title.check_backward_applies_mask": "dx = dout * mask in training",
    "title.check_backward_mask_without_seed": "without a seed, dx uses the mask of that very forward call",
    "title.check_backward_numeric_gradient": "dx matches a numeric gradient",
    "title.check_backward_test_mode": "dx = dout in test mode",
    "title.check_no_in_place_updates": "neither pass changes its input",
    "title.check_layers_copy_settings": "each layer gets its own dict with p and mode",
    "title.check_layer_seeds_reproducible": "layer seeds are integers, reproducible from the network seed",
    "title.check_layers_independent": "the layers' masks are independent",
    "title.check_layer_seeds_across_networks": "different network seeds give unrelated layer seeds",
    "title.check_layers_unseeded_without_seed": "without a network seed, no layer gets a seed",
}


def _say(message_id, **fields):
    """The student-facing text of one message, its fields filled in."""
    return MESSAGES[message_id].format(**fields)


def rel_error(x, y):
    """Largest relative difference between two arrays (0 when they are equal)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def numeric_gradient(f, x, df, h=1e-5):
    """Central-difference gradient of ``sum(f(x) * df)`` with respect to ``x``.

    Differences are taken output by output, ``sum((f(x + h) - f(x - h)) * df)``, so
    outputs that do not depend on the perturbed entry cancel exactly. ``f`` gets a copy
    of ``x`` each time, so a function that changes its input in place cannot spoil the
    next evaluation.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = np.array(f(x.copy()), dtype=np.float64)
        x[index] = old - h
        minus = np.array(f(x.copy()), dtype=np.float64)
        x[index] = old
        grad[index] = np.sum((plus - minus) * df) / (2 * h)
    return grad


# ---------------------------------------------------------------- calling the student's code


def _inputs(shape, seed, dtype=np.float64):
    """Inputs of both signs and no zeros (magnitudes in [1, 2)), so ``out / x`` recovers the mask."""
    rng = np.random.default_rng([seed, 7])
    signs = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return (signs * (1.0 + rng.random(shape))).astype(dtype)


def _train(p, seed=None):
    param = {"p": p, "mode": "train"}
    if seed is not None:
        param["seed"] = seed
    return param


def _seed_text(param):
    return _say("call.seed", seed=_describe(param["seed"])) if "seed" in param else _say("call.no_seed")


def _student_error(error):
    """(kind, text) of an exception from the student's code.

    The grader's sandbox (autograder.sandbox) passes exceptions of most kinds as themselves
    and the rest as ``RuntimeError("Kind: text")``; both read the same here.
    """
    kind, text = type(error).__name__, str(error)
    match = re.fullmatch(r"([A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt)): (.*)", text, re.S)
    if kind == "RuntimeError" and match:
        kind, text = match.groups()
    return kind, text


def _run(function, name, args, call, expected):
    """function(*args); an exception becomes an AssertionError that says which call failed, and why."""
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - the student's code may raise anything
        kind, text = _student_error(error)
        if kind == "NotImplementedError" and not text:
            raise AssertionError(_say("not_written", function=name)) from error
        raise AssertionError(_say("raised", function=name, kind=kind, call=call, expected=expected,
                                  error=text)) from error


def _forward(dropout_forward, x, param):
    """The student's forward pass on copies: (out, cache), checked to be a pair with out of x's shape."""
    call = _say("call.forward", mode=param["mode"], p=param["p"], seed=_seed_text(param), shape=x.shape,
                dtype=x.dtype.name)
    returned = _run(dropout_forward, "dropout_forward", (x.copy(), dict(param)), call, _say("expect.forward"))
    if not isinstance(returned, (tuple, list)) or len(returned) != 2:
        raise AssertionError(_say("forward.not_pair", returned=_describe(returned), call=call))
    out, cache = returned
    if out is None:
        raise AssertionError(_say("returned_none", function="dropout_forward", value="out", call=call))
    out = np.asarray(out)
    assert out.shape == x.shape, _say("forward.shape", got=out.shape, shape=x.shape, mode=param["mode"])
    return out, cache


def _backward(dropout_backward, dout, cache, param):
    """The student's backward pass on a copy of dout: dx, checked to have dout's shape."""
    call = _say("call.backward", mode=param["mode"], p=param["p"], seed=_seed_text(param), shape=dout.shape)
    dx = _run(dropout_backward, "dropout_backward", (dout.copy(), cache), call,
              _say(f"expect.backward.{param['mode']}"))
    if dx is None:
        raise AssertionError(_say("returned_none", function="dropout_backward", value="dx", call=call))
    dx = np.asarray(dx)
    assert dx.shape == dout.shape, _say("backward.shape", got=dx.shape, shape=dout.shape)
    return dx


def _describe(value):
    """A short description of a value: its repr when that is short, else its type."""
    text = repr(value)
    return text if len(text) <= 30 and "\n" not in text else _say("call.object", kind=type(value).__name__)


def _kept(dropout_forward, p, seed, n):
    """Kept-unit indicator of one training pass over n units."""
    out, _ = _forward(dropout_forward, np.ones(n), _train(p, seed))
    return out != 0


def _zeroes_negatives(x, out):
    """Every negative input came out 0 while some positive ones were kept: a ReLU inside dropout."""
    return bool(np.all(out[x < 0] == 0) and np.any(out[x > 0] != 0))


def _forward_zeroes_negatives(dropout_forward, p, seed):
    x = _inputs(400, seed)
    out, _ = _forward(dropout_forward, x, _train(p, seed))
    return _zeroes_negatives(x, out)


def _tolerance(p, n):
    """Z binomial standard errors of a fraction estimated from n units."""
    return Z * math.sqrt(p * (1 - p) / n)


def _agreement(kept_a, kept_b):
    """(fraction of units on which two masks agree, its expectation if independent, tolerance)."""
    n = kept_a.size
    fa, fb = kept_a.mean(), kept_b.mean()
    agree = float(np.mean(kept_a == kept_b))
    expected = fa * fb + (1 - fa) * (1 - fb)
    return agree, expected, 2 * Z * math.sqrt(fa * (1 - fa) * fb * (1 - fb) / n)


def _normal_cdf(v):
    return 0.5 * (1 + math.erf(v / math.sqrt(2)))


def _fmt(values):
    return ", ".join(f"{v:.2f}" for v in values)


# ---------------------------------------------------------------- forward pass


def check_output_shape(dropout_forward, *, p=0.5, seed=0):
    """The mask has the input's full shape: every unit of every example is dropped on its own."""
    for shape in [(64, 48), (6, 3, 10, 10)]:
        out, _ = _forward(dropout_forward, _inputs(shape, seed), _train(p, seed))
        kept = out != 0
        for axis, size in enumerate(shape):
            if size > 1 and np.all(kept == kept.take([0], axis=axis)):
                raise AssertionError(_say("shape.broadcast", shape=shape, axis=axis))
        _forward(dropout_forward, _inputs(shape, seed), {"p": p, "mode": "test"})


def check_mask_values(dropout_forward, *, p=0.6, seed=0, n=2000):
    """In training, every unit, negative or positive, is either dropped (0) or kept and scaled by 1/p."""
    x = _inputs(n, seed)
    out, _ = _forward(dropout_forward, x, _train(p, seed))
    scale = out / x
    kept = scale[scale != 0]
    assert kept.size, _say("mask.none_kept", p=p)
    assert not _zeroes_negatives(x, out), _say("negatives.zeroed", p=p)
    wrong = ~np.isclose(kept, 1 / p, rtol=1e-6)
    if wrong.any():
        seen = float(np.median(kept))
        hint = ""
        if np.isclose(seen, 1.0):
            hint = _say("hint.not_scaled")
        elif np.isclose(seen, p):
            hint = _say("hint.times_p")
        elif np.isclose(seen, 1 / (1 - p)):
            hint = _say("hint.drop_scale")
        raise AssertionError(_say("mask.values", p=p, seen=seen, inverse=1 / p, hint=hint))


def check_kept_fraction(dropout_forward, *, p=0.3, seed=0, n=100_000):
    """About a fraction p of the units is kept (p is the *keep* probability)."""
    fraction = float(np.mean(_kept(dropout_forward, p, seed, n)))
    tol = _tolerance(p, n)
    if abs(fraction - p) > tol:
        hint = _say("hint.drop_fraction") if abs(fraction - (1 - p)) <= tol else ""
        raise AssertionError(_say("fraction", fraction=fraction, p=p, tol=tol, n=n, hint=hint))


def check_uniform_draws(dropout_forward, *, ps=(0.1, 0.3, 0.5, 0.7, 0.9), seed=0, n=20_000):
    """The mask compares uniform draws on [0, 1) with p, so the kept fraction is p for every p."""
    fractions = [float(np.mean(_kept(dropout_forward, p, seed + i, n))) for i, p in enumerate(ps)]
    if any(abs(f - p) > _tolerance(p, n) for f, p in zip(fractions, ps)):
        normal = [_normal_cdf(p) for p in ps]
        hint = ""
        if all(abs(f - q) <= _tolerance(q, n) for f, q in zip(fractions, normal)):
            hint = _say("hint.normal")
        raise AssertionError(_say("uniform", fractions=_fmt(fractions), ps=_fmt(ps), hint=hint))


def check_training_mean(dropout_forward, *, p=0.4, seed=0, n=100_000):
    """Inverted dropout keeps the expected output equal to the input: E[out] = x.

    The factor measured is the least-squares fit of out on x, sum(out * x) / sum(x²),
    whose expectation is 1 and whose variance is (1 − p)/p · sum(x⁴) / sum(x²)².
    """
    x = _inputs(n, seed)
    out, _ = _forward(dropout_forward, x, _train(p, seed))
    ratio = float(np.sum(out * x) / np.sum(x * x))
    tol = Z * math.sqrt((1 - p) / p * np.sum(x**4)) / np.sum(x * x)
    if abs(ratio - 1) > tol:
        hint = ""
        if _zeroes_negatives(x, out):
            hint = _say("hint.negatives")
        elif abs(ratio - p) <= tol * p:
            hint = _say("hint.mean_p")
        raise AssertionError(_say("mean", ratio=ratio, n=n, tol=tol, p=p, hint=hint))


def check_test_mode_identity(dropout_forward, *, ps=(0.3, 0.8), seed=0):
    """In test mode the layer does nothing: out equals x."""
    x = _inputs((50, 40), seed)
    for p in ps:
        out, _ = _forward(dropout_forward, x, {"p": p, "mode": "test"})
        if not np.array_equal(out, x):
            ratio = float(np.median(out / x))
            if _zeroes_negatives(x, out):
                hint = _say("hint.negatives").strip()
            elif np.isclose(ratio, p):
                hint = _say("hint.test_times_p")
            elif np.any(out == 0):
                hint = _say("hint.test_zeros", share=float(np.mean(out == 0)))
            else:
                hint = _say("hint.test_ratio", ratio=ratio)
            raise AssertionError(_say("test_mode", p=p, hint=hint))


def check_reproducible_with_seed(dropout_forward, *, p=0.5, seed=0):
    """The same seed gives the same mask; another seed gives another mask."""
    x = _inputs((40, 30), seed)
    first, _ = _forward(dropout_forward, x, _train(p, seed))
    again, _ = _forward(dropout_forward, x, _train(p, seed))
    assert np.array_equal(first, again), _say("seed.same_seed_differs", seed=seed)
    other, _ = _forward(dropout_forward, x, _train(p, seed + 1))
    assert not np.array_equal(first, other), _say("seed.ignored", seed=seed, other=seed + 1)


def check_fresh_mask_without_seed(dropout_forward, *, p=0.5, seed=0):
    """Without a seed, every call draws a new mask."""
    x = _inputs((40, 30), seed)
    first, _ = _forward(dropout_forward, x, _train(p))
    second, _ = _forward(dropout_forward, x, _train(p))
    assert not np.array_equal(first, second), _say("seed.fixed")


def check_keeps_dtype(dropout_forward, *, p=0.7, seed=0):
    """float32 in gives float32 out, and float64 gives float64, in both modes."""
    for dtype in (np.float32, np.float64):
        x = _inputs((20, 10), seed, dtype)
        for mode in ("train", "test"):
            out, _ = _forward(dropout_forward, x, {"p": p, "mode": mode, "seed": seed})
            got = out.dtype
            assert got == dtype, _say("dtype", got=got, dtype=np.dtype(dtype).name, mode=mode)


def check_no_in_place_updates(dropout_forward, dropout_backward, *, p=0.5, seed=0):
    """Neither pass modifies its input array in place."""
    for mode in ("train", "test"):
        param = {"p": p, "mode": mode, "seed": seed}
        x = _inputs((30, 20), seed)
        x_before = x.copy()
        call = _say("call.forward", mode=mode, p=p, seed=_seed_text(param), shape=x.shape, dtype=x.dtype.name)
        returned = _run(dropout_forward, "dropout_forward", (x, dict(param)), call, _say("expect.forward"))
        assert np.array_equal(x, x_before), _say("in_place.forward", mode=mode)
        dout = _inputs((30, 20), seed + 1)
        dout_before = dout.copy()
        call = _say("call.backward", mode=mode, p=p, seed=_seed_text(param), shape=dout.shape)
        cache = returned[1] if isinstance(returned, (tuple, list)) and len(returned) == 2 else None
        _run(dropout_backward, "dropout_backward", (dout, cache), call, _say(f"expect.backward.{mode}"))
        assert np.array_equal(dout, dout_before), _say("in_place.backward", mode=mode)


def check_rejects_bad_input(dropout_forward, *, ps=(0.0, -0.5, 1.5, float("nan")), modes=("eval",)):
    """A keep probability outside (0, 1], NaN, or an unknown mode raises ValueError."""
    x = np.ones((4, 5))
    cases = [({"p": p, "mode": "train", "seed": 0}, _say("bad.what_p", p=p)) for p in ps]
    cases += [({"p": 0.5, "mode": mode}, _say("bad.what_mode", mode=mode)) for mode in modes]
    for param, what in cases:
        try:
            with np.errstate(all="ignore"):
                dropout_forward(x.copy(), param)
        except ValueError as error:
            assert str(error), _say("bad.no_message", what=what)
        except Exception as error:  # noqa: BLE001 - the student's code may raise anything
            kind, text = _student_error(error)
            if kind == "NotImplementedError" and not text:
                raise AssertionError(_say("not_written", function="dropout_forward")) from error
            advice = _say("bad.advice_assert") if kind == "AssertionError" else _say("bad.advice_other")
            raise AssertionError(_say("bad.other_error", kind=kind, what=what, advice=advice, error=text)) from error
        else:
            raise AssertionError(_say("bad.accepted", what=what))


# ---------------------------------------------------------------- backward pass


def check_backward_applies_mask(dropout_forward, dropout_backward, *, p=0.6, seed=0):
    """In training, dx = dout * mask, with the same scaled mask as the forward pass."""
    x = _inputs((25, 40), seed)
    dout = np.random.default_rng([seed, 11]).standard_normal(x.shape)
    param = _train(p, seed)
    out, cache = _forward(dropout_forward, x, param)
    mask = out / x
    dx = _backward(dropout_backward, dout, cache, param)
    if not np.allclose(dx, dout * mask, rtol=1e-6, atol=0):
        if _zeroes_negatives(x, out):
            hint = _say("hint.forward_zeroes_negatives")
        elif np.allclose(dx, dout):
            hint = _say("hint.dx_is_dout")
        elif np.allclose(dx * p, dout * mask) or np.allclose(dx, dout * (mask != 0)):
            hint = _say("hint.dx_no_scale")
        elif np.allclose(dx, dout * mask * p):
            hint = _say("hint.dx_times_p")
        else:
            hint = _say("hint.dx_error", error=rel_error(dx, dout * mask))
        raise AssertionError(_say("backward.mask", p=p, hint=hint))


def check_backward_mask_without_seed(dropout_forward, dropout_backward, *, p=0.5, seed=0):
    """Without a seed, dx passes gradient exactly through the units that this very forward call kept."""
    x = _inputs((30, 40), seed)
    dout = np.random.default_rng([seed, 19]).standard_normal(x.shape)
    param = _train(p)
    out, cache = _forward(dropout_forward, x, param)
    dx = _backward(dropout_backward, dout, cache, param)
    kept, passed = out != 0, dx != 0
    if not np.array_equal(kept, passed):
        if _zeroes_negatives(x, out):
            hint = _say("hint.forward_zeroes_negatives")
        elif np.allclose(dx, dout):
            hint = _say("hint.dx_is_dout")
        else:
            hint = _say("hint.redrawn", share=float(np.mean(kept != passed)))
        raise AssertionError(_say("backward.other_mask", p=p, hint=hint))


def check_backward_numeric_gradient(dropout_forward, dropout_backward, *, p=0.5, seed=0, shape=(4, 5)):
    """dx matches a numeric gradient (relative error below 1e-8, float64)."""
    x = _inputs(shape, seed)
    dout = np.random.default_rng([seed, 13]).standard_normal(shape)
    param = _train(p, seed)
    run = lambda v: _forward(dropout_forward, v, param)[0]  # noqa: E731
    assert np.array_equal(run(x), run(x)), _say("gradient.not_reproducible")
    _, cache = _forward(dropout_forward, x, param)
    dx = _backward(dropout_backward, dout, cache, param)
    error = rel_error(dx, numeric_gradient(run, x, dout))
    if error >= 1e-8:
        hint = ": " + _say("hint.forward_zeroes_negatives") if _forward_zeroes_negatives(dropout_forward, p, seed) else "."
        raise AssertionError(_say("gradient", error=error, hint=hint))


def check_backward_test_mode(dropout_forward, dropout_backward, *, p=0.5, seed=0):
    """In test mode the gradient passes through unchanged: dx = dout."""
    x = _inputs((20, 30), seed)
    dout = np.random.default_rng([seed, 17]).standard_normal(x.shape)
    param = {"p": p, "mode": "test"}
    _, cache = _forward(dropout_forward, x, param)
    dx = _backward(dropout_backward, dout, cache, param)
    assert np.array_equal(dx, dout), _say("backward.test_mode", p=p)


# ---------------------------------------------------------------- one seed, many layers


def _layer_params(layer_dropout_params, param, num_layers):
    given = dict(param)
    call = _say("call.layers", param=param, num_layers=num_layers)
    params = _run(layer_dropout_params, "layer_dropout_params", (given, num_layers), call,
                  _say("expect.layers", num_layers=num_layers))
    assert given == param, _say("layers.changed_input")
    if not isinstance(params, (list, tuple)):
        raise AssertionError(_say("layers.not_list", returned=_describe(params), num_layers=num_layers))
    assert len(params) == num_layers, _say("layers.count", count=len(params), num_layers=num_layers)
    for i, layer_param in enumerate(params):
        assert isinstance(layer_param, dict), _say("layers.not_dict", layer=i, kind=type(layer_param).__name__)
    return list(params)


def _is_integer(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _layer_seeds(layer_dropout_params, p, seed, num_layers):
    """The integer seed of each layer for one network seed."""
    found = [param.get("seed") for param in _layer_params(layer_dropout_params, _train(p, seed), num_layers)]
    for i, value in enumerate(found):
        if not _is_integer(value):
            problem = (_say("layers.no_seed", seed=seed, layer=i) if value is None
                       else _say("layers.seed_type", seed=seed, layer=i, found=_describe(value)))
            raise AssertionError(_say("layers.not_integer", problem=problem))
    return [int(v) for v in found]


def check_layers_copy_settings(layer_dropout_params, *, p=0.6, seed=123, num_layers=3):
    """Every layer gets its own dict, with the network's p and mode."""
    for mode in ("train", "test"):
        params = _layer_params(layer_dropout_params, {"p": p, "mode": mode, "seed": seed}, num_layers)
        for i, param in enumerate(params):
            assert param.get("p") == p and param.get("mode") == mode, _say(
                "layers.settings", layer=i, got_p=param.get("p"), got_mode=param.get("mode"), p=p, mode=mode)
        assert len({id(param) for param in params}) == num_layers, _say("layers.shared_dict")


def check_layer_seeds_reproducible(layer_dropout_params, *, p=0.6, seed=123, num_layers=3):
    """The same network seed gives the same integer seed to each layer; another seed changes them."""
    first, again, other = (_layer_seeds(layer_dropout_params, p, s, num_layers) for s in (seed, seed, seed + 1))
    assert first == again, _say("layers.not_reproducible", seed=seed, first=first, again=again)
    assert first != other, _say("layers.seed_ignored", seed=seed, other=seed + 1, first=first)


def check_layers_independent(layer_dropout_params, dropout_forward, *, p=0.6, seed=123,
                             num_layers=3, n=20_000):
    """From one seed, different layers drop different, independent units."""
    params = _layer_params(layer_dropout_params, _train(p, seed), num_layers)
    kept = [_forward(dropout_forward, np.ones(n), param)[0] != 0 for param in params]
    for a in range(num_layers):
        for b in range(a + 1, num_layers):
            agree, expected, tol = _agreement(kept[a], kept[b])
            if abs(agree - expected) > tol:
                hint = _say("hint.same_units") if agree == 1 else ""
                raise AssertionError(_say("layers.agree", a=a, b=b, agree=agree, expected=expected, tol=tol,
                                          p=p, hint=hint))


def check_layer_seeds_across_networks(layer_dropout_params, dropout_forward, *, p=0.6, seed=123,
                                      num_layers=3, networks=4, n=20_000):
    """Networks with different seeds never give a layer the same seed, and their masks are unrelated.

    The network seeds are seed, seed + 1, seed + 2, ...: nearby seeds, as in an experiment
    repeated over seeds 123, 124, 125.
    """
    network_seeds = [seed + k for k in range(networks)]
    seeds = {s: [param.get("seed") for param in _layer_params(layer_dropout_params, _train(p, s), num_layers)]
             for s in network_seeds}
    owner = {}  # integer layer seed -> (network seed, layer) that first gave it
    for s, layer_seeds in seeds.items():
        for i, value in enumerate(layer_seeds):
            if not _is_integer(value):
                continue  # whether seeds are integers is check_layer_seeds_reproducible's business
            value = int(value)
            if value in owner and owner[value][0] != s:
                (seed_a, layer_a) = owner[value]
                raise AssertionError(_say("across.collide", seed_a=seed_a, seed_b=s, layer_seed=value,
                                          layer_a=layer_a, layer_b=i))
            owner.setdefault(value, (s, i))
    kept = {(s, i): _kept(dropout_forward, p, value, n) for s, layer_seeds in seeds.items()
            for i, value in enumerate(layer_seeds)}
    for (seed_a, layer_a), kept_a in kept.items():
        for (seed_b, layer_b), kept_b in kept.items():
            if seed_a < seed_b:
                agree, expected, tol = _agreement(kept_a, kept_b)
                if abs(agree - expected) > tol:
                    raise AssertionError(_say("across.agree", layer_a=layer_a, seed_a=seed_a, layer_b=layer_b,
                                              seed_b=seed_b, agree=agree, expected=expected, tol=tol, p=p))


def check_layers_unseeded_without_seed(layer_dropout_params, *, p=0.6, num_layers=3):
    """Without a network seed, no layer gets a seed, so training draws fresh masks every step."""
    params = _layer_params(layer_dropout_params, _train(p), num_layers)
    seeded = [i for i, param in enumerate(params) if param.get("seed") is not None]
    assert not seeded, _say("layers.seeded_without_seed", layers=seeded)


# ---------------------------------------------------------------- all of them


CHECKS = [value for name, value in list(globals().items()) if name.startswith("check_")]
__all__ += [check.__name__ for check in CHECKS]


def self_check_summary(dropout_forward, dropout_backward, layer_dropout_params):
    """Run every self-check (with the visible cells' settings) on these functions; print which pass."""
    functions = {"dropout_forward": dropout_forward, "dropout_backward": dropout_backward,
                 "layer_dropout_params": layer_dropout_params}
    lines, passed = [], 0
    for check in CHECKS:
        title = _say(f"title.{check.__name__}")
        needs = [functions[name] for name in check.__code__.co_varnames[:check.__code__.co_argcount]]
        try:
            check(*needs)
        except AssertionError as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            lines.append(_say("summary.fail", title=title, reason=reason))
        else:
            passed += 1
            lines.append(_say("summary.pass", title=title))
    total = len(CHECKS)
    head = _say("summary.all_pass", total=total) if passed == total else _say("summary.some_fail", passed=passed,
                                                                            total=total)
    print("\n".join([head, *lines]))
