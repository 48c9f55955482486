"""Recurrent layers against their step equations written out in numpy with the layers' weights."""

import numpy as np
import pytest
from layer_test_utils import run_layer_test

from graphc.frontend import Input, Model, layers
from graphc.frontend.layers.rnn import RNN, GRUCell, LSTMCell, SimpleRNNCell


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def simple_rnn_step(weights):
    kernel, recurrent, bias = weights

    def step(x, states):
        h = np.tanh(x @ kernel + states[0] @ recurrent + bias)
        return h, [h]

    return step


def lstm_step(weights):
    kernel, recurrent, bias = weights
    u = recurrent.shape[0]
    block = lambda m, k: m[..., k * u : (k + 1) * u]  # noqa: E731  gates i, f, c, o

    def step(x, states):
        h, c = states

        def gate(k):
            return x @ block(kernel, k) + h @ block(recurrent, k) + block(bias, k)

        i, f, o = sigmoid(gate(0)), sigmoid(gate(1)), sigmoid(gate(3))
        c = f * c + i * np.tanh(gate(2))
        h = o * np.tanh(c)
        return h, [h, c]

    return step


def gru_step(weights, reset_after=True):
    kernel, recurrent, bias = weights
    u = recurrent.shape[0]
    block = lambda m, k: m[..., k * u : (k + 1) * u]  # noqa: E731  gates z, r, h
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * u))

    def step(x, states):
        (h,) = states
        xz, xr, xh = (x @ block(kernel, k) + block(input_bias, k) for k in range(3))
        hz, hr, hh = (h @ block(recurrent, k) + block(recurrent_bias, k) for k in range(3))
        z, r = sigmoid(xz + hz), sigmoid(xr + hr)
        if reset_after:
            candidate = np.tanh(xh + r * hh)
        else:
            candidate = np.tanh(xh + (r * h) @ block(recurrent, 2))
        h = z * h + (1 - z) * candidate
        return h, [h]

    return step


def run_rnn(step, x, num_states, units, mask=None, backwards=False, zero_output=False):
    """Keras' loop: masked steps keep the states and repeat the previous output (or zeros)."""
    states = [np.zeros((x.shape[0], units))] * num_states
    outputs = []
    steps = range(x.shape[1])
    for t in reversed(steps) if backwards else steps:
        out, new = step(x[:, t], states)
        if mask is not None:
            keep = mask[:, t : t + 1]
            out = np.where(keep, out, 0.0 if zero_output else states[0])
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
        states = new
        outputs.append(out)
    return np.stack(outputs, axis=1), states


CASES = [
    (layers.SimpleRNN, {}, simple_rnn_step, 1),
    (layers.LSTM, {}, lstm_step, 2),
    (layers.GRU, {}, gru_step, 1),
    (layers.GRU, {"reset_after": False}, lambda w: gru_step(w, reset_after=False), 1),
]


@pytest.mark.parametrize("cls, extra, make_step, num_states", CASES)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_rnn_layers_match_their_step_equations(cls, extra, make_step, num_states, return_sequences):
    units = 3

    def reference(x, weights):
        outputs, _ = run_rnn(make_step(weights), x, num_states, units)
        return outputs if return_sequences else outputs[:, -1]

    kwargs = {"units": units, "return_sequences": return_sequences, **extra}
    run_layer_test(
        cls,
        kwargs,
        input_shape=(2, 4, 5),
        expected_output_shape=(2, 4, units) if return_sequences else (2, units),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=0,
        reference=reference,
        rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.parametrize("cls, extra, make_step, num_states", CASES)
def test_return_state_and_go_backwards(cls, extra, make_step, num_states):
    units = 3
    layer = cls(units, return_sequences=True, return_state=True, go_backwards=True, **extra)
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("f4")
    outputs = layer(x)
    assert len(outputs) == 1 + num_states
    want_seq, want_states = run_rnn(
        make_step(layer.get_weights()), x, num_states, units, backwards=True
    )
    np.testing.assert_allclose(outputs[0], want_seq, rtol=1e-4, atol=1e-5)  # processing order
    for got, want in zip(outputs[1:], want_states):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    symbolic = cls(units, return_state=True, **extra)(Input((5, 4)))
    assert [v.shape for v in symbolic] == [(None, units)] * (1 + num_states)


def test_keras_parameter_counts_and_weight_layout():
    lstm = layers.LSTM(32)
    lstm(Input((10, 16)))
    assert lstm.count_params() == 4 * (16 * 32 + 32 * 32 + 32) == 6272
    assert [w.shape for w in lstm.weights] == [(16, 128), (32, 128), (128,)]
    np.testing.assert_array_equal(lstm.get_weights()[2], np.repeat([0.0, 1.0, 0.0, 0.0], 32))
    gru = layers.GRU(32)
    gru(Input((10, 16)))
    assert gru.count_params() == 3 * (16 * 32 + 32 * 32) + 2 * 3 * 32 == 4800
    assert [w.shape for w in gru.weights] == [(16, 96), (32, 96), (2, 96)]
    old_gru = layers.GRU(32, reset_after=False)
    old_gru(Input((10, 16)))
    assert old_gru.weights[2].shape == (96,)
    simple = layers.SimpleRNN(8)
    simple(Input((10, 16)))
    assert simple.count_params() == 16 * 8 + 8 * 8 + 8
    recurrent = lstm.get_weights()[1]
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(32), atol=1e-4)  # orthogonal
    assert (lstm.units, gru.reset_after) == (32, True)
    assert lstm.recurrent_activation.__name__ == "sigmoid"


def test_masked_steps_keep_the_state_and_repeat_the_output():
    tokens = np.array([[3, 1, 0, 0, 2], [0, 0, 4, 2, 1]], "int32")
    inputs = Input((5,), dtype="int32")
    embedded = layers.Embedding(6, 4)(inputs)
    masked_in = layers.Embedding(6, 4, mask_zero=True)
    lstm = layers.LSTM(3, return_sequences=True)
    outputs = lstm(masked_in(inputs))
    assert outputs.origin.mask is not None  # the mask flows on with return_sequences
    model = Model(inputs, outputs)
    got = model(tokens)
    x = masked_in.get_weights()[0][tokens]
    want, _ = run_rnn(lstm_step(lstm.get_weights()), x, 2, 3, mask=tokens != 0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert embedded.origin.mask is None


def test_masked_last_output_ignores_padding():
    inputs = Input((4, 2))
    gru = layers.GRU(3)
    model = Model(inputs, gru(layers.Masking(0.0)(inputs)))
    x = np.random.default_rng(1).normal(size=(1, 4, 2)).astype("f4")
    padded = np.concatenate([np.zeros((1, 2, 2), "f4"), x[:, :2]], axis=1)  # pre-padding
    post = np.concatenate([x[:, :2], np.zeros((1, 2, 2), "f4")], axis=1)  # post-padding
    unpadded = layers.GRU(3)
    unpadded(x[:, :2])
    unpadded.set_weights(gru.get_weights())
    np.testing.assert_allclose(model(padded), unpadded(x[:, :2]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model(post), unpadded(x[:, :2]), rtol=1e-5, atol=1e-6)


def test_initial_state_is_used():
    seq, h0, c0 = Input((3, 2)), Input((4,)), Input((4,))
    lstm = layers.LSTM(4)
    model = Model([seq, h0, c0], lstm(seq, initial_state=[h0, c0]))
    rng = np.random.default_rng(2)
    x, h, c = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    step = lstm_step(lstm.get_weights())
    states = [h, c]
    for t in range(3):
        out, states = step(x[:, t], states)
    got = model([x.astype("f4"), h.astype("f4"), c.astype("f4")])
    np.testing.assert_allclose(got, out, rtol=1e-4, atol=1e-5)


def test_dropout_only_in_training():
    layer = layers.LSTM(4, dropout=0.5, recurrent_dropout=0.5, return_sequences=True)
    x = np.random.default_rng(3).normal(size=(3, 6, 5)).astype("f4")
    inference = layer(x)
    want, _ = run_rnn(lstm_step(layer.get_weights()), x, 2, 4)
    np.testing.assert_allclose(inference, want, rtol=1e-4, atol=1e-5)
    training = layer(x, training=True)
    assert training.shape == inference.shape and not np.allclose(training, inference)


def test_generic_rnn_with_builtin_and_custom_cells():
    x = np.random.default_rng(4).normal(size=(2, 3, 5)).astype("f4")
    lstm = layers.LSTM(4)
    expected = lstm(x)
    wrapped = RNN(LSTMCell(4))
    wrapped(x)
    wrapped.set_weights(lstm.get_weights())
    np.testing.assert_allclose(wrapped(x), expected, rtol=1e-5, atol=1e-6)

    class Accumulate(layers.Layer):
        """A user cell in Keras' protocol: the state is the running sum of the inputs."""

        state_size = 5

        def call(self, inputs, states):
            total = states[0] + inputs
            return total, [total]

    run = RNN(Accumulate(), return_sequences=True)
    np.testing.assert_allclose(run(x), np.cumsum(x, axis=1), rtol=1e-6)


def test_generic_rnn_config_round_trip():
    run_layer_test(
        RNN,
        {"cell": GRUCell(2), "return_sequences": True},
        input_shape=(2, 3, 4),
        expected_output_shape=(2, 3, 2),
    )
    for cell in (SimpleRNNCell(2), LSTMCell(2), GRUCell(2)):
        config = RNN(cell).get_config()
        assert type(RNN.from_config(config).cell) is type(cell)


def bidirectional_reference(make_step, num_states, units, merge):
    def reference(x, weights):
        half = len(weights) // 2
        forward, _ = run_rnn(make_step(weights[:half]), x, num_states, units)
        backward, _ = run_rnn(make_step(weights[half:]), x, num_states, units, backwards=True)
        return merge(forward, backward[:, ::-1])

    return reference


@pytest.mark.parametrize(
    "merge_mode, merge, width",
    [
        ("concat", lambda f, b: np.concatenate([f, b], axis=-1), 6),
        ("sum", lambda f, b: f + b, 3),
        ("ave", lambda f, b: (f + b) / 2, 3),
        ("mul", lambda f, b: f * b, 3),
    ],
)
def test_bidirectional_merges_both_directions(merge_mode, merge, width):
    run_layer_test(
        layers.Bidirectional,
        {"layer": layers.LSTM(3, return_sequences=True), "merge_mode": merge_mode},
        input_shape=(2, 4, 5),
        expected_output_shape=(2, 4, width),
        expected_num_trainable_weights=6,
        reference=bidirectional_reference(lstm_step, 2, 3, merge),
        rtol=1e-4,
        atol=1e-5,
    )


def test_bidirectional_shapes_states_and_parameter_count():
    layer = layers.Bidirectional(layers.LSTM(10))
    assert layer(Input((5, 8))).shape == (None, 20)
    assert layer.count_params() == 2 * 4 * (8 * 10 + 10 * 10 + 10)
    assert layer.forward_layer.name == "forward_lstm"
    assert layer.backward_layer.name == "backward_lstm"
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    both = layers.Bidirectional(layers.GRU(4, return_state=True), merge_mode=None)
    outputs = both(Input((5, 8)))
    assert [v.shape for v in outputs] == [(None, 4)] * 4  # y, y_rev, h_forward, h_backward
    assert both.compute_output_shape((None, 5, 8)) == [(None, 4)] * 4
    with pytest.raises(ValueError, match="merge mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2))


def test_bidirectional_zeroes_masked_outputs():
    inputs = Input((4,), dtype="int32")
    embedding = layers.Embedding(5, 3, mask_zero=True)
    bi = layers.Bidirectional(layers.SimpleRNN(2, return_sequences=True))
    model = Model(inputs, bi(embedding(inputs)))
    tokens = np.array([[1, 2, 0, 0], [3, 0, 4, 1]], "int32")
    x = embedding.get_weights()[0][tokens]
    weights, mask = bi.get_weights(), tokens != 0
    forward, _ = run_rnn(simple_rnn_step(weights[:3]), x, 1, 2, mask=mask, zero_output=True)
    backward, _ = run_rnn(
        simple_rnn_step(weights[3:]), x, 1, 2, mask=mask, backwards=True, zero_output=True
    )
    got = model(tokens)
    np.testing.assert_allclose(got, np.concatenate([forward, backward[:, ::-1]], -1), atol=1e-5)
    np.testing.assert_array_equal(got[0, 2:], 0.0)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: layers.LSTM(0), ValueError, "units"),
        (lambda: layers.GRU(4, stateful=True), ValueError, "stateful"),
        (lambda: layers.LSTM(4, use_cudnn=True), ValueError, "cuDNN"),
        (lambda: layers.GRU(4, use_cudnn="yes"), ValueError, "use_cudnn"),
        (lambda: RNN(object()), ValueError, "state_size"),
        (lambda: layers.SimpleRNN(4, recurent_dropout=0.1), TypeError, "recurent_dropout"),
    ],
)
def test_bad_arguments_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_rnn_needs_three_dimensional_inputs():
    with pytest.raises(ValueError, match=r"LSTM 'lstm' expects inputs of shape \(batch, timesteps"):
        layers.LSTM(4, name="lstm")(Input((5,)))
