"""Checks for the dropout exercise, with messages that say what was observed and expected.

Each ``check_*`` function runs the student's functions on inputs it makes itself and
raises ``AssertionError`` with an explanation when one behaviour is wrong. The module
needs only NumPy; it is shipped next to the exercise notebook.

Statistical checks allow ``Z`` standard errors around the exact expectation, so a
correct implementation fails one of them about once in a million runs.
"""

import math

import numpy as np

Z = 5.0  # standard errors allowed in statistical checks: P(|N(0,1)| > 5) = 5.7e-7


def rel_error(x, y):
    """Largest relative difference between two arrays (0 when they are equal)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def numeric_gradient(f, x, df, h=1e-5):
    """Central-difference gradient of ``sum(f(x) * df)`` with respect to ``x``.

    Differences are taken output by output, ``sum((f(x + h) - f(x - h)) * df)``, so
    outputs that do not depend on the perturbed entry cancel exactly.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = np.array(f(x), dtype=np.float64)
        x[index] = old - h
        minus = np.array(f(x), dtype=np.float64)
        x[index] = old
        grad[index] = np.sum((plus - minus) * df) / (2 * h)
    return grad


# ---------------------------------------------------------------- helpers


def _inputs(shape, seed, dtype=np.float64):
    """Inputs with no zeros (values in [1, 2)), so ``out / x`` recovers the mask."""
    return (1.0 + np.random.default_rng([seed, 7]).random(shape)).astype(dtype)


def _train(p, seed=None):
    param = {"p": p, "mode": "train"}
    if seed is not None:
        param["seed"] = seed
    return param


def _forward(dropout_forward, x, param):
    """Run the student's forward pass on copies, and check the output is an array of x's shape."""
    out, cache = dropout_forward(x.copy(), dict(param))
    out = np.asarray(out)
    assert out.shape == x.shape, (
        f"dropout_forward returned an output of shape {out.shape} for an input of shape "
        f"{x.shape} ({param['mode']} mode): the output must have the input's shape."
    )
    return out, cache


def _kept(dropout_forward, p, seed, n):
    """Kept-unit indicator of one training pass over n units."""
    out, _ = _forward(dropout_forward, np.ones(n), _train(p, seed))
    return out != 0


def _tolerance(p, n):
    """Z binomial standard errors of a fraction estimated from n units."""
    return Z * math.sqrt(p * (1 - p) / n)


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
                raise AssertionError(
                    f"for an input of shape {shape}, the kept units are the same along axis "
                    f"{axis}: the mask has fewer dimensions than x and was broadcast. "
                    f"Draw one random number per unit, with the shape of x (x.shape)."
                )
        _forward(dropout_forward, _inputs(shape, seed), {"p": p, "mode": "test"})


def check_mask_values(dropout_forward, *, p=0.6, seed=0, n=2000):
    """In training, every unit is either dropped (0) or kept and scaled by 1/p."""
    x = _inputs(n, seed)
    out, _ = _forward(dropout_forward, x, _train(p, seed))
    scale = out / x
    kept = scale[scale != 0]
    assert kept.size, f"with p = {p} every unit was dropped; about a fraction p should be kept."
    wrong = ~np.isclose(kept, 1 / p, rtol=1e-6)
    if wrong.any():
        seen = float(np.median(kept))
        hint = ""
        if np.isclose(seen, 1.0):
            hint = " Kept units are not scaled: inverted dropout divides them by p."
        elif np.isclose(seen, p):
            hint = " Kept units are multiplied by p: inverted dropout divides by p instead."
        elif np.isclose(seen, 1 / (1 - p)):
            hint = " That is 1/(1 \u2212 p): is p the *keep* probability in your code?"
        raise AssertionError(
            f"with p = {p}, kept units were multiplied by {seen:.4g} (out / x); expected "
            f"1/p = {1 / p:.4g}, and 0 for dropped units.{hint}"
        )


def check_kept_fraction(dropout_forward, *, p=0.3, seed=0, n=100_000):
    """About a fraction p of the units is kept (p is the *keep* probability)."""
    fraction = float(np.mean(_kept(dropout_forward, p, seed, n)))
    tol = _tolerance(p, n)
    if abs(fraction - p) > tol:
        hint = ""
        if abs(fraction - (1 - p)) <= tol:
            hint = " Is p the *keep* probability? Your layer drops a fraction p instead."
        raise AssertionError(
            f"kept fraction {fraction:.3f}, expected {p:.3f} \u00b1 {tol:.3f} (p = {p}, "
            f"{n} units).{hint}"
        )


def check_uniform_draws(dropout_forward, *, ps=(0.1, 0.3, 0.5, 0.7, 0.9), seed=0, n=20_000):
    """The mask compares uniform draws on [0, 1) with p, so the kept fraction is p for every p."""
    fractions = [float(np.mean(_kept(dropout_forward, p, seed + i, n))) for i, p in enumerate(ps)]
    wrong = [abs(f - p) > _tolerance(p, n) for f, p in zip(fractions, ps)]
    if any(wrong):
        normal = [_normal_cdf(p) for p in ps]
        hint = ""
        if all(abs(f - q) <= _tolerance(q, n) for f, q in zip(fractions, normal)):
            hint = (
                " They follow \u03a6(p), the normal distribution's CDF: the mask compares "
                "*normal* draws with p. Use uniform draws (rng.random), not normal ones."
            )
        raise AssertionError(
            f"kept fractions {_fmt(fractions)} for p = {_fmt(ps)}; expected the kept "
            f"fraction to equal p each time.{hint}"
        )


def check_training_mean(dropout_forward, *, p=0.4, seed=0, n=100_000):
    """Inverted dropout keeps the expected output equal to the input: E[out] = x."""
    x = _inputs(n, seed)
    out, _ = _forward(dropout_forward, x, _train(p, seed))
    ratio = float(out.mean() / x.mean())
    tol = Z * math.sqrt((1 - p) / p * np.sum(x**2)) / np.sum(x)
    if abs(ratio - 1) > tol:
        hint = ""
        if abs(ratio - p) <= tol * p:
            hint = " That is p: without dividing by p, E[out] = p\u00b7x, and test time would have to scale by p."
        raise AssertionError(
            f"mean training output is {ratio:.3f} \u00d7 the mean input, expected "
            f"1.000 \u00b1 {tol:.3f} (p = {p}).{hint}"
        )


def check_test_mode_identity(dropout_forward, *, ps=(0.3, 0.8), seed=0):
    """In test mode the layer does nothing: out equals x."""
    x = _inputs((50, 40), seed)
    for p in ps:
        out, _ = _forward(dropout_forward, x, {"p": p, "mode": "test"})
        if not np.array_equal(out, x):
            ratio = float(np.median(out / x))
            if np.isclose(ratio, p):
                hint = "it is x * p. With inverted dropout the scaling happens in training, so test time does nothing."
            elif np.any(out == 0):
                hint = f"{np.mean(out == 0):.0%} of the units are zero: no mask may be applied at test time."
            else:
                hint = f"out / x is about {ratio:.3g}."
            raise AssertionError(f"test-mode output differs from x (p = {p}): {hint}")


def check_reproducible_with_seed(dropout_forward, *, p=0.5, seed=0):
    """The same seed gives the same mask; another seed gives another mask."""
    x = _inputs((40, 30), seed)
    first, _ = _forward(dropout_forward, x, _train(p, seed))
    again, _ = _forward(dropout_forward, x, _train(p, seed))
    assert np.array_equal(first, again), (
        f"two calls with the same seed ({seed}) gave different outputs: draw the mask "
        f"from a generator seeded with dropout_param['seed'] when it is given."
    )
    other, _ = _forward(dropout_forward, x, _train(p, seed + 1))
    assert not np.array_equal(first, other), (
        f"seeds {seed} and {seed + 1} gave the same output: the mask must depend on the seed."
    )


def check_fresh_mask_without_seed(dropout_forward, *, p=0.5, seed=0):
    """Without a seed, every call draws a new mask."""
    x = _inputs((40, 30), seed)
    first, _ = _forward(dropout_forward, x, _train(p))
    second, _ = _forward(dropout_forward, x, _train(p))
    assert not np.array_equal(first, second), (
        "two calls without a seed gave the same output: without dropout_param['seed'], "
        "each call must draw a fresh mask (do not fall back to a fixed seed)."
    )


def check_keeps_dtype(dropout_forward, *, p=0.7, seed=0):
    """float32 in gives float32 out, and float64 gives float64, in both modes."""
    for dtype in (np.float32, np.float64):
        x = _inputs((20, 10), seed, dtype)
        for mode in ("train", "test"):
            out, _ = dropout_forward(x.copy(), {"p": p, "mode": mode, "seed": seed})
            got = np.asarray(out).dtype
            assert got == dtype, (
                f"the output is {got} for {np.dtype(dtype).name} input ({mode} mode); "
                f"expected {np.dtype(dtype).name}. A float64 mask turns float32 data into "
                f"float64: cast the result with .astype(x.dtype)."
            )


def check_no_in_place_updates(dropout_forward, dropout_backward, *, p=0.5, seed=0):
    """Neither pass modifies its input array in place."""
    for mode in ("train", "test"):
        x = _inputs((30, 20), seed)
        x_before = x.copy()
        _, cache = dropout_forward(x, {"p": p, "mode": mode, "seed": seed})
        assert np.array_equal(x, x_before), (
            f"dropout_forward changed its input x ({mode} mode): compute a new array, "
            f"e.g. out = x * mask, rather than x *= mask."
        )
        dout = _inputs((30, 20), seed + 1)
        dout_before = dout.copy()
        dropout_backward(dout, cache)
        assert np.array_equal(dout, dout_before), (
            f"dropout_backward changed its input dout ({mode} mode): compute a new "
            f"array, e.g. dx = dout * mask, rather than dout *= mask."
        )


def check_rejects_bad_input(dropout_forward, *, ps=(0.0, -0.5, 1.5, float("nan")), modes=("eval",)):
    """A keep probability outside (0, 1], NaN, or an unknown mode raises ValueError."""
    x = np.ones((4, 5))
    cases = [({"p": p, "mode": "train", "seed": 0}, f"p = {p}") for p in ps]
    cases += [({"p": 0.5, "mode": mode}, f"mode = {mode!r}") for mode in modes]
    for param, what in cases:
        try:
            with np.errstate(all="ignore"):
                dropout_forward(x.copy(), param)
        except ValueError as error:
            assert str(error), f"the ValueError for {what} has no message: say what is wrong."
        except Exception as error:
            raise AssertionError(
                f"{what} raised {type(error).__name__}, expected ValueError with a clear message."
            ) from None
        else:
            raise AssertionError(
                f"dropout_forward accepted {what}: raise ValueError (p is a keep probability "
                f"in (0, 1]; mode is 'train' or 'test')."
            )


# ---------------------------------------------------------------- backward pass


def check_backward_applies_mask(dropout_forward, dropout_backward, *, p=0.6, seed=0):
    """In training, dx = dout * mask, with the same scaled mask as the forward pass."""
    x = _inputs((25, 40), seed)
    dout = np.random.default_rng([seed, 11]).standard_normal(x.shape)
    out, cache = _forward(dropout_forward, x, _train(p, seed))
    mask = out / x
    dx = np.asarray(dropout_backward(dout.copy(), cache))
    assert dx.shape == x.shape, f"dx has shape {dx.shape}, expected the input's shape {x.shape}."
    if not np.allclose(dx, dout * mask, rtol=1e-6, atol=0):
        if np.allclose(dx, dout):
            hint = "dx equals dout: in training, multiply dout by the mask."
        elif np.allclose(dx * p, dout * mask) or np.allclose(dx, dout * (mask != 0)):
            hint = "dx lacks the 1/p factor: use the same scaled mask as the forward pass."
        elif np.allclose(dx, dout * mask * p):
            hint = "dx is p times too small: use the same scaled mask as the forward pass."
        else:
            hint = f"largest relative error {rel_error(dx, dout * mask):.2e}."
        raise AssertionError(f"dx differs from dout * mask, the mask of the forward pass (p = {p}): {hint}")


def check_backward_numeric_gradient(dropout_forward, dropout_backward, *, p=0.5, seed=0, shape=(4, 5)):
    """dx matches a numeric gradient (relative error below 1e-8, float64)."""
    x = _inputs(shape, seed)
    dout = np.random.default_rng([seed, 13]).standard_normal(shape)
    param = _train(p, seed)
    run = lambda v: np.asarray(dropout_forward(v.copy(), dict(param))[0])
    assert np.array_equal(run(x), run(x)), (
        "dropout_forward gave different outputs for the same seed, so no numeric gradient "
        "can be computed: a gradient check needs a reproducible mask (see the seed check)."
    )
    _, cache = dropout_forward(x.copy(), dict(param))
    dx = dropout_backward(dout.copy(), cache)
    error = rel_error(dx, numeric_gradient(run, x, dout))
    assert error < 1e-8, f"dx differs from the numeric gradient: relative error {error:.2e}, expected < 1e-8."


def check_backward_test_mode(dropout_forward, dropout_backward, *, p=0.5, seed=0):
    """In test mode the gradient passes through unchanged: dx = dout."""
    x = _inputs((20, 30), seed)
    dout = np.random.default_rng([seed, 17]).standard_normal(x.shape)
    _, cache = _forward(dropout_forward, x, {"p": p, "mode": "test"})
    dx = np.asarray(dropout_backward(dout.copy(), cache))
    assert np.array_equal(dx, dout), (
        f"test-mode dx differs from dout (p = {p}): in test mode the layer is the identity, "
        f"so its gradient passes dout through unchanged."
    )


# ---------------------------------------------------------------- one seed, many layers


def _layer_params(layer_dropout_params, param, num_layers):
    given = dict(param)
    params = layer_dropout_params(given, num_layers)
    assert given == param, "layer_dropout_params changed the dropout_param it was given: work on copies."
    params = list(params)
    assert len(params) == num_layers, (
        f"layer_dropout_params returned {len(params)} dicts for {num_layers} layers."
    )
    return params


def check_layers_copy_settings(layer_dropout_params, *, p=0.6, seed=123, num_layers=3):
    """Every layer gets its own dict, with the network's p and mode."""
    for mode in ("train", "test"):
        params = _layer_params(layer_dropout_params, {"p": p, "mode": mode, "seed": seed}, num_layers)
        for i, param in enumerate(params):
            assert isinstance(param, dict), f"layer {i}'s dropout_param is a {type(param).__name__}, not a dict."
            assert param.get("p") == p and param.get("mode") == mode, (
                f"layer {i} has p = {param.get('p')!r}, mode = {param.get('mode')!r}; "
                f"expected the network's p = {p}, mode = {mode!r}."
            )
        assert len({id(param) for param in params}) == num_layers, (
            "several layers share one dict object: give each layer a dict of its own."
        )


def check_layer_seeds_reproducible(layer_dropout_params, *, p=0.6, seed=123, num_layers=3):
    """The same network seed gives the same integer seed to each layer; another seed changes them."""
    def seeds(s):
        params = _layer_params(layer_dropout_params, _train(p, s), num_layers)
        found = [param.get("seed") for param in params]
        for i, value in enumerate(found):
            assert isinstance(value, (int, np.integer)) and not isinstance(value, bool), (
                f"with seed {s}, layer {i} has seed {value!r}: every layer needs an integer "
                f"seed of its own, so that a gradient check sees the same masks every call."
            )
        return [int(v) for v in found]

    first, again, other = seeds(seed), seeds(seed), seeds(seed + 1)
    assert first == again, f"seed {seed} gave layer seeds {first}, then {again}: they must be reproducible."
    assert first != other, f"seeds {seed} and {seed + 1} gave the same layer seeds {first}."


def check_layers_independent(layer_dropout_params, dropout_forward, *, p=0.6, seed=123,
                             num_layers=3, n=20_000):
    """From one seed, different layers drop different, independent units."""
    params = _layer_params(layer_dropout_params, _train(p, seed), num_layers)
    kept = []
    for param in params:
        out, _ = _forward(dropout_forward, np.ones(n), param)
        kept.append(out != 0)
    for a in range(num_layers):
        for b in range(a + 1, num_layers):
            fa, fb = kept[a].mean(), kept[b].mean()
            agree = float(np.mean(kept[a] == kept[b]))
            expected = fa * fb + (1 - fa) * (1 - fb)
            tol = 2 * Z * math.sqrt(fa * (1 - fa) * fb * (1 - fb) / n)
            if abs(agree - expected) > tol:
                hint = ""
                if agree == 1:
                    hint = " They drop exactly the same units: do all layers get the same seed?"
                raise AssertionError(
                    f"layers {a} and {b} agree on {agree:.3f} of the units, expected "
                    f"{expected:.3f} \u00b1 {tol:.3f} for independent masks (p\u00b2 + (1 \u2212 p)\u00b2 "
                    f"with p = {p}).{hint}"
                )


def check_layers_unseeded_without_seed(layer_dropout_params, *, p=0.6, num_layers=3):
    """Without a network seed, no layer gets a seed, so training draws fresh masks every step."""
    params = _layer_params(layer_dropout_params, _train(p), num_layers)
    seeded = [i for i, param in enumerate(params) if param.get("seed") is not None]
    assert not seeded, (
        f"without a network seed, layers {seeded} still got a seed: they would drop the same "
        f"units at every training step. Leave 'seed' out when the network has none."
    )
