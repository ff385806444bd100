"""Buggy variants of the solution, each one realistic bug patched into the answer cells.

Each mutant lists (answer cell, text in the solution, replacement) patches; the tests
check that every patch applies, so each mutant really is the solution but for its bug.
"""

FORWARD, BACKWARD, LAYERS = "dropout_forward", "dropout_backward", "layer_dropout_params"

SCALE_FW = "out = (x * keep / p).astype(x.dtype, copy=False)"
SCALE_BW = 'dx = (dout * keep / dropout_param["p"]).astype(dout.dtype, copy=False)'
DRAW = "keep = rng.random(x.shape) < p"
RNG = 'rng = np.random.default_rng(dropout_param.get("seed"))'
LAYER_SEED = 'param["seed"] = int(child.generate_state(1)[0])'

MUTANTS = {
    "no division by p": [
        (FORWARD, SCALE_FW, "out = (x * keep).astype(x.dtype, copy=False)"),
        (BACKWARD, SCALE_BW, "dx = (dout * keep).astype(dout.dtype, copy=False)"),
    ],
    "multiply by p": [
        (FORWARD, SCALE_FW, "out = (x * keep * p).astype(x.dtype, copy=False)"),
        (BACKWARD, SCALE_BW, 'dx = (dout * keep * dropout_param["p"]).astype(dout.dtype, copy=False)'),
    ],
    "p used as drop probability": [
        (FORWARD, DRAW, "keep = rng.random(x.shape) >= p"),
        (FORWARD, SCALE_FW, "out = (x * keep / (1 - p)).astype(x.dtype, copy=False)"),
        (BACKWARD, SCALE_BW, 'dx = (dout * keep / (1 - dropout_param["p"])).astype(dout.dtype, copy=False)'),
    ],
    "normal draws (randn)": [(FORWARD, DRAW, "keep = rng.standard_normal(x.shape) < p")],
    "mask applied at test time": [
        (FORWARD, "        out = x\n",
         "        out = (x * (np.random.default_rng().random(x.shape) < p) / p).astype(x.dtype)\n"),
    ],
    "test time multiplies by p": [(FORWARD, "        out = x\n", "        out = x * p\n")],
    "backward ignores the mask": [(BACKWARD, SCALE_BW, "dx = dout")],
    "test-mode backward scales by p": [
        (BACKWARD, "        dx = dout\n", '        dx = dout * dropout_param["p"]\n'),
    ],
    "backward forgets 1/p": [(BACKWARD, SCALE_BW, "dx = (dout * keep).astype(dout.dtype, copy=False)")],
    "one seed for every layer (CS231n)": [(LAYERS, LAYER_SEED, 'param["seed"] = seed')],
    "layers share one dict": [
        (LAYERS, "params = [dict(dropout_param) for _ in range(num_layers)]",
         "params = [dict(dropout_param)] * num_layers"),
    ],
    "layer seeds from SeedSequence.entropy": [(LAYERS, LAYER_SEED, 'param["seed"] = int(child.entropy)')],
    "layer seeds drawn from the global generator": [
        (LAYERS, LAYER_SEED, 'param["seed"] = int(np.random.randint(2**31))'),
    ],
    "layers seeded without a network seed": [
        (LAYERS, 'seed = dropout_param.get("seed")', 'seed = dropout_param.get("seed", 0)'),
    ],
    "seed ignored": [(FORWARD, RNG, "rng = np.random.default_rng()")],
    "fixed seed when none is given": [(FORWARD, RNG, 'rng = np.random.default_rng(dropout_param.get("seed", 0))')],
    "forward updates x in place": [(FORWARD, SCALE_FW, "x *= keep / p\n        out = x")],
    "backward updates dout in place": [
        (BACKWARD, SCALE_BW, 'dout *= keep / dropout_param["p"]\n        dx = dout'),
    ],
    "float64 mask changes the dtype": [(FORWARD, SCALE_FW, "out = x * (keep / p)")],
    "mask of the wrong shape, broadcast": [(FORWARD, DRAW, "keep = rng.random(x.shape[-1:]) < p")],
    # A lecture-notes snippet pasted into the layer: negative inputs never survive.
    "ReLU inside dropout": [(FORWARD, SCALE_FW, "out = (np.maximum(x, 0) * keep / p).astype(x.dtype, copy=False)")],
    # The cache holds the parameters and the shape; the backward pass draws the mask again.
    "backward redraws the mask from the seed": [
        (FORWARD, "cache = (dropout_param, keep)", "cache = (dropout_param, x.shape)"),
        (BACKWARD, "dropout_param, keep = cache",
         'dropout_param, shape = cache\n    keep = np.random.default_rng(dropout_param.get("seed")).random(shape) < dropout_param["p"]'),
    ],
    "seed plus layer index": [
        (LAYERS, "        for param, child in zip(params, children):\n            " + LAYER_SEED,
         "        for i, param in enumerate(params):\n            param['seed'] = seed + i"),
    ],
    # CS231n's backward multiplies by the cache's mask in both modes; in test mode it is None.
    "test-mode backward multiplies by the None mask": [(BACKWARD, "        dx = dout\n", "        dx = dout * keep\n")],
    "unknown mode rejected by assert": [
        (FORWARD, """raise ValueError(f"dropout_param['mode'] must be 'train' or 'test'; got {mode!r}")""",
         'assert False, f"unknown mode {mode!r}"'),
    ],
    "layer seeds are SeedSequence objects": [(LAYERS, LAYER_SEED, 'param["seed"] = child')],
}

SPAWN_LOOP = "        for param, child in zip(params, children):\n            " + LAYER_SEED

# Correct alternatives to the solution's layer seeds: other derivations from SeedSequence (or
# from a Generator seeded with the network seed), each reproducible, independent between layers,
# and unrelated between network seeds. Each earns every point.
ALTERNATIVES = {
    "64-bit seeds of spawned children": [
        (LAYERS, LAYER_SEED, 'param["seed"] = int(child.generate_state(1, np.uint64)[0])'),
    ],
    "one state word of the network's SeedSequence per layer": [
        (LAYERS, "children = np.random.SeedSequence(seed).spawn(num_layers)",
         "children = np.random.SeedSequence(seed).generate_state(num_layers)"),
        (LAYERS, LAYER_SEED, 'param["seed"] = int(child)'),
    ],
    "SeedSequence of (network seed, layer index)": [
        (LAYERS, SPAWN_LOOP, "        for i, param in enumerate(params):\n"
         "            param['seed'] = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])"),
    ],
    "a spawned child's generator draws the seed": [
        (LAYERS, LAYER_SEED, 'param["seed"] = int(np.random.default_rng(child).integers(2**63))'),
    ],
    "seeds drawn from a Generator seeded with the network seed": [
        (LAYERS, "children = np.random.SeedSequence(seed).spawn(num_layers)",
         "rng = np.random.default_rng(seed)\n        children = range(num_layers)"),
        (LAYERS, LAYER_SEED, 'param["seed"] = int(rng.integers(2**32))'),
    ],
}

# CS231n's implementation (global generator reseeded from dropout_param['seed'], float
# mask in the cache), pasted into the notebook as a student would.
CS231N_FORWARD = '''
def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    out = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    elif mode == "test":
        out = x
    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache
'''

# The same as 2016-17 students wrote it, with p the drop probability.
CS231N_FORWARD_2016 = CS231N_FORWARD.replace("mask = (np.random.rand(*x.shape) < p) / p",
                                             "mask = (np.random.rand(*x.shape) >= p) / (1 - p)")
assert CS231N_FORWARD_2016 != CS231N_FORWARD

CS231N_BACKWARD = '''
def dropout_backward(dout, cache):
    dropout_param, mask = cache
    mode = dropout_param["mode"]
    dx = None
    if mode == "train":
        dx = dout * mask
    elif mode == "test":
        dx = dout
    return dx
'''


def patched_answers(patches, answer_source):
    """Apply (cell, old, new) patches to the solution's answer cells; each must apply once."""
    answers = {}
    for cell, old, new in patches:
        source = answers.get(cell, answer_source(cell))
        assert source.count(old) == 1, f"patch does not apply to {cell}: {old!r}"
        answers[cell] = source.replace(old, new)
    return answers
