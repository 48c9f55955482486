import pytest

from graphc.frontend.engine import tree


def test_flatten_and_pack_round_trip():
    structure = {"b": [1, (2, 3)], "a": {"y": 4, "x": None}}
    flat = tree.flatten(structure)
    assert flat == [None, 4, 1, 2, 3]
    packed = tree.pack_sequence_as(structure, flat)
    assert packed == structure and list(packed) == ["b", "a"]
    assert isinstance(packed["b"][1], tuple)


def test_pack_checks_the_number_of_leaves():
    with pytest.raises(ValueError, match="too few leaves"):
        tree.pack_sequence_as([0, 0], [1])
    with pytest.raises(ValueError, match="too many leaves"):
        tree.pack_sequence_as([0], [1, 2])


def test_map_structure_and_is_nested():
    assert tree.map_structure(str, (1, [2])) == ("1", ["2"])
    assert tree.is_nested([]) and not tree.is_nested("ab")
