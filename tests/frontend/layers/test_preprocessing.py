"""Random image layers: identity in inference, valid transforms in training.

Fixed transforms (a factor range of one value) are compared with a per-pixel numpy resampler
written here from the documented semantics (Keras 3's map_coordinates fill modes).
"""

import math

import numpy as np
import pytest
from layer_test_utils import run_layer_test

import graphc
from graphc.frontend import Input, Sequential, layers
from graphc.frontend.layers import preprocessing
from graphc.frontend.layers.preprocessing.affine import affine_transform

RNG = np.random.default_rng(0)


def fix_index(i, n, fill_mode):
    if fill_mode == "reflect":
        m = i % (2 * n)
        return m if m < n else 2 * n - 1 - m
    if fill_mode == "wrap":
        return i % n
    if fill_mode == "nearest":
        return min(max(i, 0), n - 1)
    return i


def resample_reference(image, transform, interpolation, fill_mode, fill_value=0.0):
    """Output (x, y) reads input (a0 x + a1 y + a2, b0 x + b1 y + b2), one pixel at a time."""
    a0, a1, a2, b0, b1, b2 = transform
    height, width, channels = image.shape

    def read(row, col):
        row, col = fix_index(row, height, fill_mode), fix_index(col, width, fill_mode)
        if 0 <= row < height and 0 <= col < width:
            return image[row, col].astype(np.float64)
        return np.full(channels, fill_value)

    out = np.zeros(image.shape)
    for y in range(height):
        for x in range(width):
            sx, sy = a0 * x + a1 * y + a2, b0 * x + b1 * y + b2
            if interpolation == "nearest":
                out[y, x] = read(int(np.round(sy)), int(np.round(sx)))
                continue
            x0, y0 = math.floor(sx), math.floor(sy)
            fx, fy = sx - x0, sy - y0
            out[y, x] = (
                (1 - fy) * (1 - fx) * read(y0, x0)
                + (1 - fy) * fx * read(y0, x0 + 1)
                + fy * (1 - fx) * read(y0 + 1, x0)
                + fy * fx * read(y0 + 1, x0 + 1)
            )
    return out


def rotation_matrix(turns, height, width):
    angle = 2 * math.pi * turns
    c, s = math.cos(angle), math.sin(angle)
    return (
        c,
        -s,
        ((width - 1) - (c * (width - 1) - s * (height - 1))) / 2,
        s,
        c,
        ((height - 1) - (s * (width - 1) + c * (height - 1))) / 2,
    )


def zoom_matrix(zy, zx, height, width):
    return (zx, 0.0, (width - 1) / 2 * (1 - zx), 0.0, zy, (height - 1) / 2 * (1 - zy))


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "nearest", "constant"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_transform_matches_per_pixel_reference(fill_mode, interpolation):
    images = RNG.random((2, 5, 6, 2)).astype("float32")
    transform = (0.8, -0.45, 1.33, 0.52, 1.07, -1.61)  # rotation, shear, scale and shift mixed
    x = graphc.placeholder((None, 5, 6, 2))
    f = graphc.Graph([x], affine_transform(x, transform, interpolation, fill_mode, 0.5))
    got = f(images)
    for n in range(2):
        want = resample_reference(images[n], transform, interpolation, fill_mode, 0.5)
        np.testing.assert_allclose(got[n], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (preprocessing.RandomFlip, {}),
        (preprocessing.RandomRotation, {"factor": 0.2}),
        (preprocessing.RandomZoom, {"height_factor": 0.2, "width_factor": (-0.1, 0.3)}),
    ],
)
def test_inference_is_the_identity(cls, kwargs):
    run_layer_test(
        cls,
        kwargs,
        input_shape=(2, 6, 5, 3),
        expected_output_shape=(2, 6, 5, 3),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        reference=lambda x, w: x,
    )
    as_bytes = RNG.integers(0, 255, (1, 4, 4, 3)).astype("uint8")
    out = cls(**kwargs)(as_bytes.astype("int32"))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, as_bytes)


@pytest.mark.parametrize(
    "mode, axes",
    [("horizontal", (2,)), ("vertical", (1,)), ("horizontal_and_vertical", (1, 2))],
)
def test_flip_reverses_exactly_or_not_at_all_per_image(mode, axes):
    images = RNG.random((64, 3, 4, 2)).astype("float32")
    out = preprocessing.RandomFlip(mode)(images, training=True)
    flipped = np.flip(images, axes)
    is_flipped = [np.array_equal(o, f) for o, f in zip(out, flipped)]
    is_kept = [np.array_equal(o, i) for o, i in zip(out, images)]
    assert all(a or b for a, b in zip(is_flipped, is_kept))
    assert 10 < sum(is_flipped) < 54  # each image is flipped with probability 1/2


def test_rotation_by_zero_is_the_identity_and_quarter_turns_are_exact():
    images = RNG.random((3, 5, 5, 2)).astype("float32")
    np.testing.assert_array_equal(preprocessing.RandomRotation(0.0)(images, training=True), images)
    quarter = preprocessing.RandomRotation((0.25, 0.25))(images, training=True)
    np.testing.assert_allclose(quarter, np.rot90(images, k=1, axes=(1, 2)), atol=1e-5)
    half = preprocessing.RandomRotation((-0.5, -0.5))(images, training=True)
    np.testing.assert_allclose(half, np.flip(images, (1, 2)), atol=1e-5)


@pytest.mark.parametrize("fill_mode", ["reflect", "constant", "nearest", "wrap"])
def test_rotation_by_a_fixed_angle_matches_the_reference(fill_mode):
    images = RNG.random((2, 6, 7, 1)).astype("float32")
    layer = preprocessing.RandomRotation((0.1, 0.1), fill_mode=fill_mode, fill_value=-1.0)
    got = layer(images, training=True)
    transform = rotation_matrix(0.1, 6, 7)
    for n in range(2):
        want = resample_reference(images[n], transform, "bilinear", fill_mode, -1.0)
        np.testing.assert_allclose(got[n], want, atol=1e-5)


def test_random_rotations_differ_per_image_and_stay_in_range():
    image = RNG.random((1, 8, 8, 3)).astype("float32")
    images = np.repeat(image, 16, axis=0)
    out = preprocessing.RandomRotation(0.3)(images, training=True)
    assert len({o.tobytes() for o in out}) > 1  # not one transform for the whole batch
    assert out.min() >= image.min() - 1e-6 and out.max() <= image.max() + 1e-6
    nearest = preprocessing.RandomRotation(0.3, interpolation="nearest")(images, training=True)
    assert set(np.unique(nearest)) <= set(np.unique(image))
    corners = preprocessing.RandomRotation((0.125, 0.125), fill_mode="constant", fill_value=7.0)
    assert corners(image, training=True)[0, 0, 0, 0] == 7.0


def test_zoom_by_a_fixed_factor_matches_the_reference():
    images = RNG.random((2, 6, 8, 2)).astype("float32")
    np.testing.assert_array_equal(preprocessing.RandomZoom(0.0)(images, training=True), images)
    zoom_in = preprocessing.RandomZoom((-0.5, -0.5), (-0.25, -0.25))(images, training=True)
    zoom_out = preprocessing.RandomZoom((0.5, 0.5), fill_mode="constant")(images, training=True)
    zoomed_in, zoomed_out = zoom_matrix(0.5, 0.75, 6, 8), zoom_matrix(1.5, 1.5, 6, 8)
    for n in range(2):
        want_in = resample_reference(images[n], zoomed_in, "bilinear", "reflect")
        np.testing.assert_allclose(zoom_in[n], want_in, atol=1e-5)
        want_out = resample_reference(images[n], zoomed_out, "bilinear", "constant")
        np.testing.assert_allclose(zoom_out[n], want_out, atol=1e-5)


def test_single_images_and_fresh_transforms_at_every_call():
    image = RNG.random((6, 6, 1)).astype("float32")
    static = graphc.placeholder((6, 6, 1))
    zoomed = preprocessing.RandomZoom(0.5)(static, training=True)
    assert zoomed.shape == (6, 6, 1) and graphc.Graph([static], zoomed)(image).shape == (6, 6, 1)
    # Called eagerly, the first axis of an array is the batch: a flip still works ...
    flipped = preprocessing.RandomFlip("vertical")(image, training=True)
    assert np.array_equal(flipped, image) or np.array_equal(flipped, image[::-1])
    # ... but resampling needs a static height: the error says to add a batch axis.
    with pytest.raises(ValueError, match="add a leading batch axis"):
        preprocessing.RandomZoom(0.5)(image, training=True)
    layer = preprocessing.RandomZoom(0.5)
    first, second = layer(image[None], training=True), layer(image[None], training=True)
    assert not np.allclose(first, second)  # a new seed at every call


def test_augmentation_in_a_sequential_model_as_in_the_flowers_tutorial():
    model = Sequential(
        [
            Input((16, 16, 3)),
            preprocessing.RandomFlip("horizontal"),
            preprocessing.RandomRotation(0.1),
            preprocessing.RandomZoom(0.1),
            layers.Rescaling(1.0 / 255),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(2),
        ]
    )
    x = RNG.integers(0, 255, (4, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), model(x), rtol=1e-5, atol=1e-5)
    augmented = model(x, training=True)
    assert augmented.shape == (4, 2) and not np.allclose(augmented, model(x))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: preprocessing.RandomFlip("diagonal"), "mode"),
        (lambda: preprocessing.RandomRotation(1.5), "factor"),
        (lambda: preprocessing.RandomRotation((0.1, 0.2, 0.3)), "factor"),
        (lambda: preprocessing.RandomRotation(0.1, fill_mode="mirror"), "fill_mode"),
        (lambda: preprocessing.RandomZoom(0.1, interpolation="bicubic"), "interpolation"),
        (lambda: preprocessing.RandomZoom("big"), "height_factor"),
        (lambda: preprocessing.RandomZoom(0.1, width_factor=-2.0), "width_factor"),
        (lambda: preprocessing.RandomFlip(data_format="channels_first"), "channels_last"),
        (lambda: preprocessing.RandomFlip(seed=1.5), "seed"),
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_configs_round_trip():
    for layer in (
        preprocessing.RandomFlip("vertical", seed=3),
        preprocessing.RandomRotation((-0.2, 0.1), fill_mode="constant", fill_value=1.0),
        preprocessing.RandomZoom(0.2, (0.1, 0.3), interpolation="nearest"),
    ):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    assert preprocessing.RandomRotation(0.1).get_config()["fill_mode"] == "reflect"


def test_random_rotation_gives_each_image_its_own_angle():
    import graphc
    from graphc.frontend import layers
    from graphc.frontend.engine.trace import TraceContext

    image = np.random.default_rng(5).random((1, 9, 9, 1)).astype("float32")
    batch = np.repeat(image, 6, axis=0)
    x = graphc.placeholder((None, 9, 9, 1), name="x")
    with TraceContext(training=True, seed=graphc.constant(np.int64(11))):
        y = layers.RandomRotation(0.2, fill_mode="constant")(x, training=True)
    out = graphc.Graph([x], y)(batch)
    distinct = {out[k].tobytes() for k in range(len(out))}
    assert len(distinct) == len(out)
