"""Checks for the dropout exercise, with messages that say what was observed and expected.

Each ``check_*`` function runs the student's functions on inputs it makes itself and
raises ``AssertionError`` with an explanation when one behaviour is wrong; when the
student's code raises, the explanation says which call failed and shows their error.
``self_check_summary`` runs them all and lists which pass. The module needs only NumPy;
it is shipped next to the exercise notebook.

Every sentence a student reads comes from ``MESSAGES`` (message id -> template with
named fields) or, once ``use_language("ko")`` is called, from ``MESSAGES_KO``, its Korean
twin with the same ids and fields: one set of checks, one table per language.

Statistical checks allow ``Z`` standard errors around the exact expectation, so a
correct implementation fails one of them about once in a million runs.
"""

import functools
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


# The same messages in Korean: the same ids, the same fields.
MESSAGES_KO = {
    # --- how a call of the student's code is described
    "call.forward": "{mode} 모드(p = {p}{seed})에서 모양이 {shape}인 x({dtype})를 넣었을 때",
    "call.backward": "{mode} 모드(p = {p}{seed})에서 모양이 {shape}인 dout과 그 dropout_forward 호출이 돌려준 캐시를 넣었을 때",
    "call.layers": "인자가 dropout_param = {param}, num_layers = {num_layers}일 때",
    "call.seed": ", 시드 {seed}",
    "call.no_seed": ", 시드 없음",
    "call.object": "{kind} 타입의 객체",
    "expect.forward": "x와 모양이 같은 out을 담은 (out, cache)",
    "expect.backward.train": "dx = dout * mask (mask는 그 순전파 호출의 마스크)",
    "expect.backward.test": "dx = dout (테스트 모드에서 이 층은 항등 함수이므로 적용할 마스크가 없습니다)",
    "expect.layers": "dict {num_layers}개로 이루어진 리스트",
    "raised": "{call} {function}에서 {kind} 예외가 발생했습니다. 기대한 결과: {expected}.\n작성한 코드의 오류: {kind}: {error}",
    "not_written": "{function} 함수가 아직 작성되지 않았습니다. 해당 셀의 raise NotImplementedError()를 직접 작성한 코드로 바꾸세요.",
    "returned_none": "{call} {function}에서 돌려준 {value}의 값이 None입니다. 코드의 어느 분기에서 {value}에 값을 넣지 않은 것은 아닌가요?",
    "forward.not_pair": (
        "{call} dropout_forward의 반환값이 {returned}입니다. CS231n과 같이 (out, cache) 쌍을 반환해야 "
        "합니다: return out, cache."
    ),
    "forward.shape": (
        "{mode} 모드에서 모양이 {shape}인 입력에 대해 dropout_forward가 모양이 {got}인 출력을 반환했습니다. "
        "출력은 입력과 모양이 같아야 합니다."
    ),
    "backward.shape": "dx의 모양이 {got}입니다. 입력과 같은 모양({shape})이어야 합니다.",
    # --- forward pass
    "shape.broadcast": (
        "모양이 {shape}인 입력에서 유지된 유닛이 {axis}번 축을 따라 모두 같습니다. 마스크의 차원이 x보다 적어서 "
        "브로드캐스트된 것입니다. x와 같은 모양(x.shape)으로 유닛마다 난수를 하나씩 뽑으세요."
    ),
    "mask.none_kept": "p = {p}에서 모든 유닛이 드롭되었습니다. 유닛 가운데 약 p의 비율은 유지되어야 합니다.",
    "mask.values": "p = {p}에서 유지된 유닛이 {seen:.4g}배가 되었습니다(out / x). 유지된 유닛은 1/p = {inverse:.4g}배가, 드롭된 유닛은 0이 되어야 합니다.{hint}",
    "hint.not_scaled": " 유지된 유닛의 크기가 조정되지 않았습니다. 역 드롭아웃(inverted dropout)에서는 유지된 유닛을 p로 나눕니다.",
    "hint.times_p": " 유지된 유닛에 p를 곱했습니다. 역 드롭아웃에서는 p를 곱하는 대신 p로 나눕니다.",
    "hint.drop_scale": " 이 값은 1/(1 − p)입니다. 코드에서 p를 *유지* 확률(keep probability)로 쓰고 있나요?",
    "negatives.zeroed": (
        "p = {p}에서 양수 입력은 유지되었는데 음수 입력은 모두 0이 되었습니다. 드롭아웃은 부호와 상관없이 유닛을 "
        "유지하거나 드롭합니다. dropout_forward 안에 ReLU(np.maximum(x, 0))가 들어 있지 않나요? ReLU는 "
        "앞 층에서 할 일입니다."
    ),
    "fraction": "유지된 유닛의 비율이 {fraction:.3f}입니다. 이 비율은 {p:.3f} ± {tol:.3f} 범위 안에 있어야 합니다(p = {p}, 유닛 {n}개).{hint}",
    "hint.drop_fraction": " p를 *유지* 확률(keep probability)로 쓰고 있나요? 작성한 층은 오히려 p의 비율만큼 드롭하고 있습니다.",
    "uniform": "p = {ps}에 대해 유지된 비율이 각각 {fractions}입니다. 어느 p에서든 유지된 비율이 p와 같아야 합니다.{hint}",
    "hint.normal": (
        " 이 비율은 정규 분포의 누적 분포 함수 Φ(p)를 따릅니다. 마스크가 *정규 분포* 난수를 p와 비교하고 있습니다. "
        "정규 분포 난수 대신 균등 분포 난수(rng.random)를 쓰세요."
    ),
    "mean": "학습 모드에서 출력이 평균적으로 out = {ratio:.3f} · x입니다(유닛 {n}개). 이 계수는 1.000 ± {tol:.3f} 범위 안에 있어야 합니다(p = {p}).{hint}",
    "hint.mean_p": " 이 값은 p입니다. p로 나누지 않으면 E[out] = p·x가 되어, 테스트 시점에 p를 곱해 주어야 합니다.",
    "hint.negatives": " 음수 입력이 모두 0이 되었습니다. dropout_forward 안에 ReLU(np.maximum(x, 0))가 들어 있지 않나요?",
    "test_mode": "테스트 모드의 출력이 x와 다릅니다(p = {p}). {hint}",
    "hint.test_times_p": "출력이 x * p입니다. 역 드롭아웃에서는 크기 조정을 학습 때 하므로 테스트 시점에는 아무것도 하지 않습니다.",
    "hint.test_zeros": "0인 유닛이 {share:.0%}입니다. 테스트 시점에는 마스크를 적용하면 안 됩니다.",
    "hint.test_ratio": "out / x가 약 {ratio:.3g}입니다.",
    "seed.same_seed_differs": (
        "같은 시드({seed})로 두 번 호출했는데 출력이 서로 다릅니다. dropout_param['seed']가 주어지면 그 값을 "
        "시드로 한 생성기에서 마스크를 뽑으세요."
    ),
    "seed.ignored": "시드가 {seed}일 때와 {other}일 때 출력이 같습니다. 마스크는 시드에 따라 달라져야 합니다.",
    "seed.fixed": (
        "시드 없이 두 번 호출했는데 출력이 같습니다. dropout_param['seed']가 없으면 호출할 때마다 새 마스크를 "
        "뽑아야 합니다(고정된 시드로 대신하지 마세요)."
    ),
    "dtype": (
        "{mode} 모드에서 {dtype} 입력에 대한 출력의 dtype이 {got}입니다. 출력도 {dtype} 자료형이어야 합니다. "
        "float64 마스크를 곱하면 float32 데이터가 float64로 바뀌므로, 결과를 .astype(x.dtype)으로 변환하세요."
    ),
    "in_place.forward": (
        "{mode} 모드에서 dropout_forward가 입력 x를 변경했습니다. x *= mask처럼 입력을 바꾸지 말고 "
        "out = x * mask처럼 새 배열을 계산하세요."
    ),
    "in_place.backward": (
        "{mode} 모드에서 dropout_backward가 입력 dout을 변경했습니다. dout *= mask처럼 입력을 바꾸지 말고 "
        "dx = dout * mask처럼 새 배열을 계산하세요."
    ),
    "bad.what_p": "p = {p}",
    "bad.what_mode": "mode = {mode!r}",
    "bad.no_message": "{what}에 대해 일으킨 ValueError에 메시지가 없습니다. 무엇이 잘못되었는지 메시지로 알려 주세요.",
    "bad.other_error": (
        "{what}에 대해 dropout_forward에서 ValueError가 아니라 {kind} 예외가 발생했습니다. {advice}\n"
        "작성한 코드의 오류: {kind}: {error}"
    ),
    "bad.advice_assert": (
        "assert 문은 AssertionError를 일으킵니다. 값을 직접 검사하고, 그 값을 밝힌 메시지와 함께 "
        "ValueError를 일으키세요."
    ),
    "bad.advice_other": (
        "dropout_forward 첫머리에서 p와 mode를 검사하고, 잘못된 값을 밝힌 메시지와 함께 ValueError를 "
        "일으키세요(p는 (0, 1] 범위의 유지 확률이고, mode는 'train' 또는 'test'입니다)."
    ),
    "bad.accepted": (
        "dropout_forward가 {what}인 입력을 그대로 받아들였습니다. ValueError를 일으켜야 합니다(p는 (0, 1] "
        "범위의 유지 확률이고, mode는 'train' 또는 'test'입니다)."
    ),
    # --- backward pass
    "backward.mask": "dx가 순전파의 마스크로 계산한 dout * mask와 다릅니다(p = {p}). {hint}",
    "hint.dx_is_dout": "dx가 dout과 같습니다. 학습 모드에서는 dout에 마스크를 곱해야 합니다.",
    "hint.dx_no_scale": "dx에 1/p 배율이 빠져 있습니다. 순전파에서 쓴, p로 나눈 마스크를 그대로 쓰세요.",
    "hint.dx_times_p": "dx가 기대한 값의 p배밖에 되지 않습니다. 순전파에서 쓴, p로 나눈 마스크를 그대로 쓰세요.",
    "hint.dx_error": "최대 상대 오차는 {error:.2e}입니다.",
    "hint.forward_zeroes_negatives": (
        "작성한 dropout_forward가 음수 입력을 0으로 만들기 때문에(안에 ReLU가 있나요?) 출력이 x * mask가 "
        "아닙니다. dropout_forward부터 고치세요."
    ),
    "backward.other_mask": (
        "시드 없이 호출했을 때(p = {p}) dx에서 기울기가 흐르는 유닛이 그 순전파 호출에서 유지된 유닛과 정확히 "
        "일치하지 않습니다. {hint}"
    ),
    "hint.redrawn": (
        "유닛의 {share:.0%}에서 차이가 나므로, 역전파에서 다른 마스크를 쓴 것입니다. 캐시에 시드(또는 모양)만 "
        "담으면 역전파에서 마스크를 다시 뽑게 되고, 그러면 시드가 주어졌을 때만 같은 마스크가 나옵니다. 캐시에 "
        "마스크 자체를 담으세요."
    ),
    "gradient.not_reproducible": (
        "같은 시드인데도 dropout_forward의 출력이 달라서 수치 기울기를 계산할 수 없습니다. 기울기 검사(gradient "
        "check)를 하려면 마스크를 재현할 수 있어야 합니다(시드 점검을 참고하세요)."
    ),
    "gradient": "dx가 수치 기울기와 다릅니다. 상대 오차가 {error:.2e}인데, 1e-8보다 작아야 합니다{hint}",
    "backward.test_mode": (
        "테스트 모드의 dx가 dout과 다릅니다(p = {p}). 테스트 모드에서 이 층은 항등 함수이므로, 기울기도 dout을 "
        "그대로 통과시켜야 합니다."
    ),
    # --- one seed, many layers
    "layers.changed_input": "layer_dropout_params가 인자로 받은 dropout_param을 변경했습니다. 복사본을 만들어 작업하세요.",
    "layers.count": "층이 {num_layers}개인데 layer_dropout_params가 dict를 {count}개 반환했습니다.",
    "layers.not_list": "layer_dropout_params의 반환값이 {returned}입니다. dict {num_layers}개로 이루어진 리스트를 반환해야 합니다.",
    "layers.not_dict": "{layer}번 층의 dropout_param이 dict가 아니라 {kind}입니다.",
    "layers.settings": (
        "{layer}번 층의 설정이 p = {got_p!r}, mode = {got_mode!r}입니다. 네트워크의 설정(p = {p}, "
        "mode = {mode!r})과 같아야 합니다."
    ),
    "layers.shared_dict": "여러 층이 dict 객체 하나를 함께 쓰고 있습니다. 층마다 dict를 따로 만들어 주세요.",
    "layers.no_seed": "네트워크 시드가 {seed}일 때 {layer}번 층에 시드가 없습니다",
    "layers.seed_type": "네트워크 시드가 {seed}일 때 {layer}번 층의 시드가 {found}입니다",
    "layers.not_integer": (
        "{problem}. 층마다 자기만의 정수 시드가 있어야 합니다. CS231n의 인터페이스는 dropout_param['seed']를 "
        "정수로 받기 때문입니다(CS231n의 dropout_forward는 이 값으로 np.random.seed를 호출합니다). 자식 "
        "SeedSequence는 int(child.generate_state(1)[0])로 정수 시드가 됩니다."
    ),
    "layers.not_reproducible": "네트워크 시드 {seed}에서 얻은 층 시드가 첫 호출에서는 {first}, 두 번째 호출에서는 {again}입니다. 층 시드는 재현 가능해야 합니다.",
    "layers.seed_ignored": "네트워크 시드가 {seed}일 때와 {other}일 때 층 시드가 똑같이 {first}입니다. 네트워크 시드가 다르면 층 시드도 달라야 합니다.",
    "layers.agree": (
        "{a}번 층과 {b}번 층의 마스크가 일치하는 유닛의 비율이 {agree:.3f}입니다. 서로 독립인 마스크라면 "
        "{expected:.3f} ± {tol:.3f} 범위 안에 있어야 합니다(p = {p}일 때 p² + (1 − p)²).{hint}"
    ),
    "hint.same_units": " 두 층이 정확히 같은 유닛을 드롭합니다. 모든 층에 같은 시드를 주고 있지 않나요?",
    "across.collide": (
        "네트워크 시드 {seed_a}의 {layer_a}번 층과 네트워크 시드 {seed_b}의 {layer_b}번 층이 같은 층 "
        "시드({layer_seed})를 받았습니다. 그래서 이 두 시드로 돌린 실행은 그 마스크를 함께 쓰게 됩니다. 시드에 층 번호를 "
        "더하면 이런 일이 생깁니다. SeedSequence(seed).spawn(num_layers)로 파생한 시드는 다른 네트워크 시드에서 "
        "다시 나오지 않습니다."
    ),
    "across.agree": (
        "네트워크 시드 {seed_a}의 {layer_a}번 층과 네트워크 시드 {seed_b}의 {layer_b}번 층에서 마스크가 일치하는 "
        "유닛의 비율이 {agree:.3f}입니다. 서로 무관한 마스크라면 {expected:.3f} ± {tol:.3f} 범위 안에 있어야 "
        "합니다(p = {p}). 시드가 다른 실행의 마스크는 서로 무관해야 합니다."
    ),
    "layers.seeded_without_seed": (
        "네트워크 시드가 없는데도 층 {layers}에 시드가 들어갔습니다. 그러면 이 층들은 학습 스텝마다 같은 유닛을 "
        "드롭하게 됩니다. 네트워크에 시드가 없으면 'seed' 키를 넣지 마세요."
    ),
    # --- the summary of all self-checks
    "summary.all_pass": "자가 점검 {total}개를 모두 통과했습니다. 채점할 때는 다른 모양, 유지 확률, 시드로 같은 점검을 다시 실행합니다.",
    "summary.some_fail": "자가 점검 {total}개 중 {passed}개를 통과했습니다. 통과하지 못한 점검은 무엇이 잘못되었는지 알려 줍니다:",
    "summary.pass": "  ✓ {title}",
    "summary.fail": "  ✗ {title}\n      {reason}",
    "title.check_output_shape": "마스크는 입력과 모양이 완전히 같습니다",
    "title.check_mask_values": "유지된 유닛은 1/p배가 되고, 드롭된 유닛은 0이 됩니다",
    "title.check_kept_fraction": "유닛 가운데 p의 비율이 유지됩니다",
    "title.check_uniform_draws": "마스크는 균등 분포 난수를 p와 비교합니다",
    "title.check_training_mean": "학습 모드 출력의 기댓값이 입력과 같습니다",
    "title.check_test_mode_identity": "테스트 모드에서는 아무것도 하지 않습니다",
    "title.check_reproducible_with_seed": "시드가 같으면 마스크도 같습니다",
    "title.check_fresh_mask_without_seed": "시드가 없으면 호출할 때마다 새 마스크를 뽑습니다",
    "title.check_keeps_dtype": "출력은 입력의 dtype을 유지합니다",
    "title.check_rejects_bad_input": "잘못된 p나 mode에는 ValueError를 일으킵니다",
    "title.check_backward_applies_mask": "학습 모드에서 dx = dout * mask입니다",
    "title.check_backward_mask_without_seed": "시드가 없어도 dx는 바로 그 순전파 호출의 마스크를 씁니다",
    "title.check_backward_numeric_gradient": "dx가 수치 기울기와 일치합니다",
    "title.check_backward_test_mode": "테스트 모드에서 dx = dout입니다",
    "title.check_no_in_place_updates": "순전파도 역전파도 입력을 변경하지 않습니다",
    "title.check_layers_copy_settings": "층마다 p와 mode가 담긴 자기만의 dict를 받습니다",
    "title.check_layer_seeds_reproducible": "층 시드는 정수이며, 네트워크 시드에서 재현할 수 있습니다",
    "title.check_layers_independent": "층들의 마스크는 서로 독립입니다",
    "title.check_layer_seeds_across_networks": "네트워크 시드가 다르면 층 시드도 서로 무관합니다",
    "title.check_layers_unseeded_without_seed": "네트워크 시드가 없으면 어느 층도 시드를 받지 않습니다",
}


TRANSLATIONS = {"en": MESSAGES, "ko": MESSAGES_KO}
_language = "en"


def use_language(language):
    """Speak `language` ('en' or 'ko') from now on: the Korean notebook's set-up cell chooses 'ko'."""
    global _language
    if language not in TRANSLATIONS:
        raise ValueError(f"language {language!r}: choose 'en' or 'ko'")
    _language = language


def _say(message_id, **fields):
    """The student-facing text of one message, in the chosen language, its fields filled in."""
    return TRANSLATIONS[_language][message_id].format(**fields)


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
    return _numeric_gradient(lambda points: map(f, points), x, df, h)


def _numeric_gradient(values, x, df, h):
    """numeric_gradient, with ``values(points)`` giving f at each point of an iterable, in turn."""
    x = np.array(x, dtype=np.float64)

    def points():  # x + h and x - h in each entry in turn, each a copy made when it is needed
        for index in np.ndindex(x.shape):
            old = x[index]
            x[index] = old + h
            yield x.copy()
            x[index] = old - h
            yield x.copy()
            x[index] = old

    grad = np.zeros_like(x)
    found = iter(values(points()))
    for index in np.ndindex(x.shape):
        plus = np.array(next(found), dtype=np.float64)
        minus = np.array(next(found), dtype=np.float64)
        grad[index] = np.sum((plus - minus) * df) / (2 * h)
    return grad


# ---------------------------------------------------------------- calling the student's code


def _inputs(shape, seed, dtype=np.float64):
    """Inputs of both signs and no zeros (magnitudes in [1, 2)), so ``out / x`` recovers the mask."""
    try:
        return _made_inputs(shape, seed, np.dtype(dtype)).copy()
    except TypeError:  # a shape that cannot be a key (a list): made afresh
        return _make_inputs(shape, seed, dtype)


@functools.lru_cache(maxsize=64)
def _made_inputs(shape, seed, dtype):
    """_inputs, made once for each shape, seed and dtype (the checks ask for the same ones again and again)."""
    made = _make_inputs(shape, seed, dtype)
    made.flags.writeable = False
    return made


def _make_inputs(shape, seed, dtype):
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


def _calls(function, arg_lists):
    """function(*args) for each args in turn: an iterator of what each call returned, raising what it raised.

    The grader's stand-in for a student's function (autograder.sandbox) makes the calls in one
    exchange with the student's process (its `each`); any other function is called when the
    next result is asked for.
    """
    each = getattr(function, "each", None)
    return iter(each(arg_lists)) if callable(each) else (function(*args) for args in arg_lists)


def _forward(dropout_forward, x, param):
    """The student's forward pass on copies: (out, cache), checked to be a pair with out of x's shape."""
    return _forwards(dropout_forward, [(x, param)])[0]


def _forwards(dropout_forward, runs):
    """_forward for each (x, param) of runs in turn: a list of (out, cache)."""
    results = _calls(dropout_forward, [(x.copy(), dict(param)) for x, param in runs])
    found = []
    for x, param in runs:
        call = _say("call.forward", mode=param["mode"], p=param["p"], seed=_seed_text(param), shape=x.shape,
                    dtype=x.dtype.name)
        returned = _run(next, "dropout_forward", (results,), call, _say("expect.forward"))  # this call's
        if not isinstance(returned, (tuple, list)) or len(returned) != 2:
            raise AssertionError(_say("forward.not_pair", returned=_describe(returned), call=call))
        out, cache = returned
        if out is None:
            raise AssertionError(_say("returned_none", function="dropout_forward", value="out", call=call))
        out = np.asarray(out)
        assert out.shape == x.shape, _say("forward.shape", got=out.shape, shape=x.shape, mode=param["mode"])
        found.append((out, cache))
    return found


def _outs(dropout_forward, runs):
    """The out of _forward for each (x, param) of runs in turn."""
    return [out for out, _ in _forwards(dropout_forward, runs)]


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
    return _kepts(dropout_forward, [(p, seed, n)])[0]


def _kepts(dropout_forward, runs):
    """_kept for each (p, seed, n) of runs in turn."""
    return [out != 0 for out in _outs(dropout_forward, [(np.ones(n), _train(p, seed)) for p, seed, n in runs])]


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
    fractions = [float(np.mean(kept)) for kept in _kepts(dropout_forward, [(p, seed + i, n) for i, p in enumerate(ps)])]
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
    squares = x * x  # x**4 is numpy's pow(), 30 times slower than this product for these inputs
    tol = Z * math.sqrt((1 - p) / p * np.sum(squares * squares)) / np.sum(squares)
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
    for p, out in zip(ps, _outs(dropout_forward, [(x, {"p": p, "mode": "test"}) for p in ps])):
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
    first, again, other = _outs(dropout_forward, [(x, _train(p, seed)), (x, _train(p, seed)),
                                                  (x, _train(p, seed + 1))])
    assert np.array_equal(first, again), _say("seed.same_seed_differs", seed=seed)
    assert not np.array_equal(first, other), _say("seed.ignored", seed=seed, other=seed + 1)


def check_fresh_mask_without_seed(dropout_forward, *, p=0.5, seed=0):
    """Without a seed, every call draws a new mask."""
    x = _inputs((40, 30), seed)
    first, second = _outs(dropout_forward, [(x, _train(p)), (x, _train(p))])
    assert not np.array_equal(first, second), _say("seed.fixed")


def check_keeps_dtype(dropout_forward, *, p=0.7, seed=0):
    """float32 in gives float32 out, and float64 gives float64, in both modes."""
    cases = [(dtype, mode) for dtype in (np.float32, np.float64) for mode in ("train", "test")]
    outs = _outs(dropout_forward, [(_inputs((20, 10), seed, dtype), {"p": p, "mode": mode, "seed": seed})
                                   for dtype, mode in cases])
    for (dtype, mode), out in zip(cases, outs):
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
    first, again = _outs(dropout_forward, [(x, param), (x, param)])
    assert np.array_equal(first, again), _say("gradient.not_reproducible")
    _, cache = _forward(dropout_forward, x, param)
    dx = _backward(dropout_backward, dout, cache, param)
    outs = lambda points: _outs(dropout_forward, [(point, param) for point in points])  # noqa: E731
    error = rel_error(dx, _numeric_gradient(outs, x, dout, 1e-5))
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
    kept = [out != 0 for out in _outs(dropout_forward, [(np.ones(n), param) for param in params])]
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
    layers = [(s, i, value) for s, layer_seeds in seeds.items() for i, value in enumerate(layer_seeds)]
    kept = dict(zip([(s, i) for s, i, _ in layers], _kepts(dropout_forward, [(p, value, n) for _, _, value in layers])))
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
