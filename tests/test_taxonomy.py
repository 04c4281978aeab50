import copy
import json

import pytest

from tabench import TabenchError, taxonomy
from tabench.cli import main


@pytest.mark.parametrize("name,counts", [("syn-ta", (20, 53, 47)), ("k400-ta", (41, 111, 94)), ("ssv2-ta", (26, 81, 68))])
def test_exact_counts_and_structure(name, counts):
    tax = taxonomy.load(name)
    assert (len(tax.coarse), len(tax.fine_of_set(1)), len(tax.fine_of_set(2))) == counts
    for s in (1, 2):
        # every coarse class has fine classes in both sets; set-local ids are 0..n-1
        assert {f.coarse_id for f in tax.fine_of_set(s)} == set(range(len(tax.coarse)))
        assert [f.id for f in tax.fine_of_set(s)] == list(range(len(tax.fine_of_set(s))))
    names1 = {f.name for f in tax.fine_of_set(1)}
    assert not names1 & {f.name for f in tax.fine_of_set(2)}
    assert len({f.slug for f in tax.fine}) == len(tax.fine)


def test_known_entries_from_the_appendix():
    syn = taxonomy.load("syn-ta")
    f = syn.fine_class(2, 23)
    assert f.name == "Single object falling at an angle" and syn.coarse[f.coarse_id].name == "falling"
    assert f.source_label is None
    k400 = taxonomy.load("k400-ta")
    assert k400.fine_class(1, 81).name == "punching bag"
    assert k400.fine_class(2, 70).name == "punching person (boxing)"
    assert k400.coarse[k400.fine_class(2, 70).coarse_id].name == "punching"
    ssv2 = taxonomy.load("ssv2-ta")
    assert ssv2.fine_class(1, 42).name == "Pushing something from left to right"
    assert ssv2.coarse[11].name == "Pushing"


def test_renamed_k400_classes_map_to_official_labels():
    k400 = taxonomy.load("k400-ta")
    by_name = {f.name: f for f in k400.fine}
    assert by_name["smoking cigarette or short object"].source_label == "smoking"
    assert by_name["drinking water or soft drinks"].source_label == "drinking"
    # curly apostrophe in the paper, straight one in the official list
    assert by_name["massaging person’s head"].source_label == "massaging person's head"
    official = taxonomy.official_labels("k400-ta")
    assert all(f.source_label in official for f in k400.fine)
    assert len(k400.by_source_label()) == 205


def test_ssv2_source_labels_are_official_templates():
    ssv2 = taxonomy.load("ssv2-ta")
    official = taxonomy.official_labels("ssv2-ta")
    assert len(official) == 174
    assert all(f.source_label in official for f in ssv2.fine)
    assert ssv2.fine_class(2, 38).source_label == "Pushing something so that it almost falls off but doesn't"


def test_validation_rejects_broken_taxonomies():
    base = taxonomy.load("k400-ta").to_dict()
    bad = copy.deepcopy(base)
    bad["fine"][0]["source_label"] = "not a kinetics class"
    with pytest.raises(TabenchError, match="not in kinetics400_classes.txt"):
        taxonomy.from_dict(bad)
    bad = copy.deepcopy(base)
    bad["fine"].append(dict(bad["fine"][0], set=2, id=94))  # same class in both sets
    with pytest.raises(TabenchError):
        taxonomy.from_dict(bad)
    bad = copy.deepcopy(base)
    bad["fine"] = [f for f in bad["fine"] if not (f["set"] == 2 and f["coarse_id"] == 27)]
    with pytest.raises(TabenchError):
        taxonomy.from_dict(bad, check_counts=False)


def test_select_by_slug_name_or_coarse():
    syn = taxonomy.load("syn-ta")
    assert len(syn.select(["falling"])) == 4
    assert [f.slug for f in syn.select(["single_object_rising_at_an_angle"])] == ["single_object_rising_at_an_angle"]
    with pytest.raises(TabenchError, match="neither"):
        syn.select(["flying"])


def test_cli_show_json_shape(capsys):
    assert main(["taxonomy", "show", "ssv2-ta", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"name", "coarse", "fine", "class_text"}  # class_text: see test_class_text.py
    assert set(data["fine"][0]) == {"set", "id", "name", "slug", "coarse_id", "source_label", "text"}
    assert len(data["fine"]) == 149


def test_cli_show_csv_and_table(capsys):
    assert main(["taxonomy", "show", "syn-ta", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("set,id,name,slug,coarse_id") and len(lines) == 101
    assert main(["taxonomy", "show", "syn-ta"]) == 0
    assert "20 coarse classes" in capsys.readouterr().out


def test_cli_unknown_name_is_one_line_error(capsys):
    assert main(["taxonomy", "show", "ucf101-ta"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown taxonomy" in err and "Traceback" not in err
