"""image_dataset_from_directory on folders of images generated here: Keras' indexing, split,
messages and label encodings, batching, resizing, and the dataset protocol fit consumes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from graphc.errors import MissingDependencyError, SerializationError
from graphc.frontend.utils.image_dataset import ImageDataset, image_dataset_from_directory

Image = pytest.importorskip("PIL.Image")

CLASSES = {"daisy": 4, "roses": 3, "tulips": 3}  # 10 files


def color(class_index: int, number: int) -> tuple[int, int, int]:
    """Each image is one flat color that encodes its class and number, to check pairing."""
    return (40 * class_index + 10, 20 * number + 5, 200)


@pytest.fixture
def flowers(tmp_path: Path) -> Path:
    root = tmp_path / "flower_photos"
    for class_index, (name, count) in enumerate(CLASSES.items()):
        (root / name).mkdir(parents=True)
        for number in range(count):
            image = Image.new("RGB", (8, 6), color(class_index, number))
            image.save(root / name / f"img_{number}.png")
    (root / "LICENSE.txt").write_text("not an image, not a class")
    (root / ".cache").mkdir()  # hidden folders are not classes
    (root / "daisy" / "notes.txt").write_text("skipped: not an image format")
    return root


def keras_order(root: Path, seed: int) -> list[str]:
    """The file order Keras produces: classes and files sorted, then RandomState(seed).shuffle."""
    paths = [
        os.path.join(str(root), name, file)
        for name in sorted(CLASSES)
        for file in sorted(os.listdir(root / name))
        if file.endswith(".png")
    ]
    np.random.RandomState(seed).shuffle(paths)
    return paths


def class_of(images: np.ndarray) -> np.ndarray:
    return np.round((images[:, 0, 0, 0] - 10) / 40).astype(int)


def test_indexes_classes_and_files_like_keras(flowers: Path, capsys) -> None:
    ds = image_dataset_from_directory(flowers, seed=7, image_size=(6, 8))
    assert capsys.readouterr().out == "Found 10 files belonging to 3 classes.\n"
    assert ds.class_names == ["daisy", "roses", "tulips"]
    assert ds.file_paths == keras_order(flowers, 7)
    assert len(ds) == ds.cardinality() == 1


def test_split_sizes_messages_and_no_overlap(flowers: Path, capsys) -> None:
    kwargs = dict(validation_split=0.25, seed=3, image_size=(6, 8), verbose=False)
    train = image_dataset_from_directory(flowers, subset="training", **kwargs)
    val = image_dataset_from_directory(flowers, subset="validation", **kwargs)
    assert capsys.readouterr().out == (
        "Using 8 files for training.\nUsing 2 files for validation.\n"
    )
    assert train.file_paths + val.file_paths == keras_order(flowers, 3)
    both = image_dataset_from_directory(flowers, subset="both", **kwargs)
    assert isinstance(both, tuple) and len(both) == 2
    assert both[0].file_paths == train.file_paths and both[1].file_paths == val.file_paths


def test_batches_pair_images_with_their_labels(flowers: Path) -> None:
    ds = image_dataset_from_directory(flowers, batch_size=3, image_size=(6, 8), seed=1)
    batches = list(ds)
    assert len(batches) == len(ds) == 4
    assert [x.shape for x, _ in batches] == [(3, 6, 8, 3)] * 3 + [(1, 6, 8, 3)]
    for x, y in batches:
        assert x.dtype == np.float32 and y.dtype == np.int32 and y.shape == (len(x),)
        np.testing.assert_array_equal(class_of(x), y)
    seen = np.concatenate([x[:, 0, 0] for x, _ in batches])
    expected = [color(c, n) for c, count in enumerate(CLASSES.values()) for n in range(count)]
    assert sorted(map(tuple, seen.astype(int).tolist())) == sorted(expected)


def test_the_same_seed_gives_the_same_epochs(flowers: Path) -> None:
    def epochs(seed: int) -> list[list[int]]:
        ds = image_dataset_from_directory(flowers, batch_size=4, image_size=(2, 2), seed=seed)
        return [np.concatenate([y for _, y in ds]).tolist() for _ in range(3)]

    first = epochs(11)
    assert first == epochs(11)
    assert first[0] != first[1] or first[1] != first[2]  # reshuffled each epoch
    assert first != epochs(12)


def test_without_shuffle_files_stay_in_alphanumeric_order(flowers: Path) -> None:
    ds = image_dataset_from_directory(flowers, shuffle=False, image_size=(2, 2), batch_size=4)
    assert ds.file_paths == sorted(ds.file_paths)
    labels = [np.concatenate([y for _, y in ds]).tolist() for _ in range(2)]
    assert labels == [[0, 0, 0, 0, 1, 1, 1, 2, 2, 2]] * 2


def test_images_are_resized_to_image_size(flowers: Path, tmp_path: Path) -> None:
    Image.new("RGB", (31, 17), (9, 99, 199)).save(flowers / "roses" / "big.png")
    Image.new("RGB", (3, 2), (9, 99, 199)).save(flowers / "roses" / "tiny.png")
    for interpolation in ("bilinear", "nearest", "bicubic", "area", "lanczos3", "BILINEAR"):
        x, _ = image_dataset_from_directory(
            flowers, image_size=(5, 7), interpolation=interpolation, seed=0, verbose=False
        ).as_numpy()
        assert x.shape == (12, 5, 7, 3)
        # a flat color stays flat whatever the filter (up to float rounding)
        np.testing.assert_allclose(x, x[:, :1, :1, :] * np.ones_like(x), atol=1e-3)
    x, _ = image_dataset_from_directory(flowers, image_size=4, seed=0, verbose=False).as_numpy()
    assert x.shape == (12, 4, 4, 3)


def test_crop_to_aspect_ratio_keeps_the_centre(tmp_path: Path) -> None:
    stripes = np.zeros((4, 12, 3), np.uint8)
    stripes[:, :4, 0], stripes[:, 4:8, 1], stripes[:, 8:, 2] = 255, 255, 255
    (tmp_path / "a").mkdir()
    Image.fromarray(stripes).save(tmp_path / "a" / "stripes.png")
    kwargs = dict(image_size=(4, 4), shuffle=False, verbose=False, label_mode=None)
    cropped = image_dataset_from_directory(tmp_path, crop_to_aspect_ratio=True, **kwargs)
    np.testing.assert_array_equal(cropped.as_numpy()[0], np.broadcast_to([0, 255, 0], (4, 4, 3)))
    squeezed = image_dataset_from_directory(tmp_path, interpolation="nearest", **kwargs)
    assert squeezed.as_numpy()[0, 0].tolist() == [
        [255, 0, 0],  # source columns 1, 4, 7, 10: the pixel centres
        [0, 255, 0],
        [0, 255, 0],
        [0, 0, 255],
    ]


@pytest.mark.parametrize(("color_mode", "channels"), [("grayscale", 1), ("rgb", 3), ("rgba", 4)])
def test_color_modes(flowers: Path, color_mode: str, channels: int) -> None:
    x, _ = image_dataset_from_directory(
        flowers, color_mode=color_mode, image_size=(6, 8), seed=0, verbose=False
    ).as_numpy()
    assert x.shape == (10, 6, 8, channels)
    if color_mode == "grayscale":  # converted with Pillow's luma formula, as Keras does
        expected = [
            Image.new("RGB", (1, 1), color(c, n)).convert("L").getpixel((0, 0))
            for c, count in enumerate(CLASSES.values())
            for n in range(count)
        ]
        assert sorted(x[:, 0, 0, 0].tolist()) == sorted(expected)
    if color_mode == "rgba":
        assert np.all(x[..., 3] == 255)


def test_label_modes(flowers: Path) -> None:
    common = dict(image_size=(2, 2), seed=5, verbose=False)
    x, y = image_dataset_from_directory(flowers, label_mode="categorical", **common).as_numpy()
    assert y.dtype == np.float32 and y.shape == (10, 3)
    np.testing.assert_array_equal(y.argmax(axis=1), class_of(x))
    assert y.sum() == 10
    x, y = image_dataset_from_directory(
        flowers, label_mode="binary", class_names=["tulips", "daisy"], **common
    ).as_numpy()
    assert y.dtype == np.float32 and y.shape == (7, 1)
    np.testing.assert_array_equal(y[:, 0], class_of(x) == 0)  # daisy is label 1
    with pytest.raises(ValueError, match='label_mode="binary"`, there must be exactly 2'):
        image_dataset_from_directory(flowers, label_mode="binary", **common)
    for unlabeled in (dict(label_mode=None), dict(labels=None)):
        ds = image_dataset_from_directory(flowers, batch_size=4, **unlabeled, **common)
        batch = next(iter(ds))
        assert isinstance(batch, np.ndarray) and batch.shape == (4, 2, 2, 3)
        assert ds.as_numpy().shape == (10, 2, 2, 3)
    assert ds.class_names is None


def test_no_labels_counts_every_file_below_the_directory(flowers: Path, capsys) -> None:
    image_dataset_from_directory(flowers, labels=None, image_size=(2, 2), seed=0)
    assert capsys.readouterr().out == "Found 10 files.\n"


def test_explicit_labels_follow_the_sorted_file_order(flowers: Path) -> None:
    labels = [3, 1, 3, 1, 3, 1, 3, 1, 3, 1]
    ds = image_dataset_from_directory(
        flowers, labels=labels, shuffle=False, image_size=(2, 2), verbose=False
    )
    assert ds.class_names == ["1", "3"]
    assert np.concatenate([y for _, y in ds]).tolist() == labels
    with pytest.raises(ValueError, match="len\\(labels\\) is 3 while we found 10 files"):
        image_dataset_from_directory(flowers, labels=[0, 1, 0], seed=0, verbose=False)
    with pytest.raises(ValueError, match="needs labels in \\[0, 2\\)"):
        image_dataset_from_directory(
            flowers, labels=labels, label_mode="categorical", seed=0, verbose=False
        )


def test_class_names_select_and_order_the_classes(flowers: Path) -> None:
    ds = image_dataset_from_directory(
        flowers, class_names=["tulips", "daisy"], shuffle=False, image_size=(2, 2), verbose=False
    )
    x, y = ds.as_numpy()
    assert ds.class_names == ["tulips", "daisy"] and y.tolist() == [0] * 3 + [1] * 4
    np.testing.assert_array_equal(class_of(x), [2] * 3 + [0] * 4)
    with pytest.raises(ValueError, match="Expected: \\['daisy', 'roses', 'tulips'\\]"):
        image_dataset_from_directory(flowers, class_names=["lilies"], seed=0)


def test_every_allowed_format_and_nested_folders_are_read(tmp_path: Path) -> None:
    (tmp_path / "a" / "deeper").mkdir(parents=True)
    for name in ("x.bmp", "x.gif", "x.jpg", "x.JPEG", "deeper/x.png"):
        Image.new("RGB", (5, 5), (100, 150, 200)).save(tmp_path / "a" / name)
    x, y = image_dataset_from_directory(
        tmp_path, image_size=(5, 5), seed=0, verbose=False
    ).as_numpy()
    assert x.shape == (5, 5, 5, 3) and y.tolist() == [0] * 5
    np.testing.assert_allclose(x.mean(axis=(1, 2)), [[100, 150, 200]] * 5, atol=3)


def test_single_images_when_batch_size_is_none(flowers: Path) -> None:
    ds = image_dataset_from_directory(flowers, batch_size=None, image_size=(3, 3), seed=0)
    items = list(ds)
    assert len(ds) == len(items) == 10
    image, label = items[0]
    assert image.shape == (3, 3, 3) and label.shape == () and label.dtype == np.int32


def test_take_limits_batches_and_replays_the_first_epoch(flowers: Path) -> None:
    ds = image_dataset_from_directory(flowers, batch_size=3, image_size=(2, 2), seed=9)
    first = ds.take(2)
    assert isinstance(first, ImageDataset) and len(first) == first.cardinality() == 2
    assert len(first.take(5)) == 2 and len(ds.take(-1)) == 4 and len(ds.take(0)) == 0
    expected = [y.tolist() for _, y in ds][:2]
    assert [y.tolist() for _, y in first] == expected
    x, y = ds.take(0).as_numpy()
    assert x.shape == (0, 2, 2, 3) and y.shape == (0,)
    with pytest.raises(ValueError, match="count` must be an integer >= -1"):
        ds.take(-2)


def test_the_validation_half_of_both_is_not_reshuffled(flowers: Path) -> None:
    _, val = image_dataset_from_directory(
        flowers, validation_split=0.5, subset="both", seed=2, image_size=(2, 2), batch_size=2
    )
    epochs = [np.concatenate([x[:, 0, 0, 1] for x, _ in val]).tolist() for _ in range(3)]
    assert epochs[0] == epochs[1] == epochs[2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(validation_split=0.2, subset="training"), "you must provide a `seed` argument"),
        (dict(validation_split=0.2, seed=1), "If `subset` is set, `validation_split` must be set"),
        (dict(validation_split=1.5, subset="training", seed=1), "must be between 0 and 1"),
        (dict(validation_split=0.2, subset="test", seed=1), '`subset` must be either "training"'),
        (dict(color_mode="cmyk"), "`color_mode` must be one of"),
        (dict(interpolation="gaussian"), "Pillow, which has no lanczos5, gaussian"),
        (dict(image_size=(4, 4, 3)), "Expected a tuple of 2 integers"),
        (dict(label_mode="sparse"), '`label_mode` argument must be one of "int"'),
        (dict(labels="folders"), "`labels` argument should be a list/tuple of integer labels"),
        (
            dict(labels=[0] * 10, class_names=["a"]),
            'only pass `class_names` if `labels="inferred"`',
        ),
        (dict(batch_size=0), "`batch_size` must be a positive integer or None"),
    ],
)
def test_invalid_arguments_are_refused_like_keras(
    flowers: Path, kwargs: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", "\\(").replace("[", "\\[")):
        image_dataset_from_directory(flowers, **kwargs)


def test_empty_folders_and_empty_subsets(tmp_path: Path, flowers: Path) -> None:
    (tmp_path / "empty" / "class_a").mkdir(parents=True)
    with pytest.raises(ValueError, match="No images found in directory .*Allowed formats"):
        image_dataset_from_directory(tmp_path / "empty", seed=0)
    with pytest.raises(ValueError, match="No validation images found"):
        image_dataset_from_directory(flowers, validation_split=0.05, subset="both", seed=0)


def test_an_undecodable_file_is_named(flowers: Path) -> None:
    (flowers / "roses" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    ds = image_dataset_from_directory(flowers, shuffle=False, image_size=(2, 2), batch_size=20)
    with pytest.raises(SerializationError, match="cannot decode the image .*broken.png"):
        ds.as_numpy()


def test_missing_pillow_names_the_extra(flowers: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(MissingDependencyError, match='pip install "graphc\\[images\\]"'):
        image_dataset_from_directory(flowers, seed=0)


def test_repr_summarizes_the_dataset(flowers: Path) -> None:
    ds = image_dataset_from_directory(flowers, image_size=(2, 3), seed=0, verbose=False)
    assert repr(ds) == (
        "<ImageDataset: 10 files, 1 batches of 32, images float32 (2, 3, 3), labels int32>"
    )
