"""Class text data (motion, masked motion, definition, descriptions) shipped per dataset, its loader and importers."""
import copy
import json
import re

import pytest

from tabench import TabenchError, taxonomy
from tabench.cli import main
from tabench.taxonomy import text as ct

SHIPPED = ct.available()
FIELDS = ("name", "motion", "motion_masked", "definition", "descriptions")


def raw(dataset):
    with open(ct.text_path(dataset), encoding="utf-8") as fh:
        return json.load(fh)


def test_class_text_ships():
    # every built-in dataset ships its class text; each file is checked by the tests below
    assert set(SHIPPED) == set(taxonomy.NAMES)


@pytest.mark.parametrize("dataset", SHIPPED)
def test_every_class_has_every_field(dataset):
    d, tax = raw(dataset), taxonomy.load(dataset)
    assert d["dataset"] == dataset and "by hand" in d["how_written"]
    assert set(d["coarse"]) == {c.name for c in tax.coarse}
    assert set(d["fine"]) == {f.slug for f in tax.fine}
    expected_names = {**{c.name: c.name for c in tax.coarse}, **{f.slug: f.name for f in tax.fine}}
    for level in ("coarse", "fine"):
        for key, entry in d[level].items():
            assert set(entry) == set(FIELDS), (level, key)
            assert entry["name"] == expected_names[key]
            for f in ("motion", "motion_masked", "definition"):
                assert isinstance(entry[f], str) and len(entry[f].split()) >= 5, (level, key, f)
            assert len({s.lower() for s in entry["descriptions"]}) >= 8, (level, key)
            assert all(len(s.split()) >= 4 for s in entry["descriptions"]), (level, key)


@pytest.mark.parametrize("dataset", SHIPPED)
def test_masked_texts_contain_no_object_nouns(dataset):
    d = raw(dataset)
    nouns = [n.lower() for n in d["object_nouns"]]
    assert nouns and "object" not in nouns
    masked_some = 0
    for level in ("coarse", "fine"):
        for key, entry in d[level].items():
            words = set(re.findall(r"[a-z]+(?:['’][a-z]+)?", entry["motion_masked"].lower()))
            phrase_hits = [n for n in nouns if " " in n and n in entry["motion_masked"].lower()]
            assert not (words & set(nouns)) and not phrase_hits, (level, key, words & set(nouns), phrase_hits)
            masked_some += entry["motion"] != entry["motion_masked"]
    # the list is not decorative: the unmasked motion texts do name objects from it
    assert masked_some >= len(d["fine"]) // 4


@pytest.mark.parametrize("dataset", SHIPPED)
def test_texts_are_specific_to_their_class(dataset):
    d = raw(dataset)
    seen = {}
    for level in ("coarse", "fine"):
        for key, entry in d[level].items():
            for s in entry["descriptions"]:
                k = " ".join(s.lower().split())
                assert k not in seen, f"{level} {key!r} repeats a description of {seen[k]!r}: {s!r}"
                seen[k] = key
    for field in ("motion", "definition"):
        values = [e[field] for lvl in ("coarse", "fine") for e in d[lvl].values()]
        assert len(set(values)) == len(values), field


def test_loader_lookups_by_name_id_and_slug():
    text = ct.load_class_text("syn-ta")
    tax = taxonomy.load("syn-ta")
    assert text.coarse_text("Bouncing") is text.coarse_text(2) is text.coarse_text("bouncing")
    assert text.coarse_text(2).name == tax.coarse[2].name == "bouncing"
    f = tax.fine_of_set(2)[5]
    assert text.fine_text(f.slug).name == f.name
    for s in (1, 2):
        for level in ("coarse", "fine"):
            assert [t.name for t in text.for_labels(s, level)] == tax.labels(s, level)
    assert text.fine_text(f.slug).get("descriptions") == text.fine_text(f.slug).descriptions
    with pytest.raises(TabenchError, match="unknown coarse class"):
        text.coarse_text("levitating")
    with pytest.raises(TabenchError, match="no coarse class with id 20"):
        text.coarse_text(20)
    with pytest.raises(TabenchError, match="unknown fine class slug"):
        text.fine_text("single_object_levitating")
    with pytest.raises(TabenchError, match="unknown class text field"):
        text.coarse_text(0).get("caption")
    with pytest.raises(TabenchError, match="unknown dataset"):
        ct.load_class_text("ucf101")


def _write(tmp_path, d):
    p = tmp_path / "user.text.json"
    p.write_text(json.dumps(d), encoding="utf-8")
    return p


def test_user_file_in_the_same_format_loads(tmp_path):
    d = raw("syn-ta")
    d["fine"]["single_object_departing"]["motion"] = "my own words about one cube sliding out of view."
    got = ct.load_class_text("syn-ta", path=_write(tmp_path, d))
    assert got.fine_text("single_object_departing").motion.startswith("my own words")
    assert ct.load_class_text("syn-ta").fine_text("single_object_departing").motion != got.fine_text(
        "single_object_departing").motion


@pytest.mark.parametrize("break_it,message", [
    (lambda d: d["fine"].pop("single_object_departing"), "has no text"),
    (lambda d: d["coarse"].pop("falling"), "coarse class 'falling' has no text"),
    (lambda d: d["fine"].__setitem__("levitating", d["fine"]["single_object_departing"]), "not in the syn-ta taxonomy"),
    (lambda d: d["coarse"]["rising"].__setitem__("definition", "  "), "'definition' must be a non-empty string"),
    (lambda d: d["coarse"]["rising"].pop("motion_masked"), "missing field 'motion_masked'"),
    (lambda d: d["fine"]["single_object_departing"].__setitem__(
        "descriptions", d["fine"]["single_object_departing"]["descriptions"][:7]), "at least 8 distinct"),
    (lambda d: d["fine"]["single_object_departing"].__setitem__(
        "descriptions", ["A cube leaves."] * 8), "at least 8 distinct"),
    (lambda d: d["fine"]["single_object_departing"].__setitem__(
        "motion_masked", "one object slides out of frame like a Cube."), "object noun 'Cube'"),
    (lambda d: d["coarse"]["orbiting"].__setitem__("name", "circling"), "differs from the taxonomy"),
    (lambda d: d.__setitem__("dataset", "k400-ta"), "expected 'syn-ta'"),
    (lambda d: d.__setitem__("object_nouns", ["cube", "object"]), "mask word"),
    (lambda d: d.__setitem__("how_written", ""), "how_written"),
])
def test_validation_rejects_broken_files(tmp_path, break_it, message):
    d = copy.deepcopy(raw("syn-ta"))
    break_it(d)
    with pytest.raises(TabenchError, match=message):
        ct.load_class_text("syn-ta", path=_write(tmp_path, d))


def test_unreadable_user_file_is_a_one_line_error(tmp_path):
    with pytest.raises(TabenchError, match="cannot read class text"):
        ct.load_class_text("syn-ta", path=tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(TabenchError, match="not valid JSON"):
        ct.load_class_text("syn-ta", path=bad)


def test_noun_pattern_matches_whole_words_only():
    pat = ct.noun_pattern(["ball", "soccer ball", "cube"])
    assert pat.search("kicks the Soccer Ball hard").group(0) == "Soccer Ball"
    assert pat.search("a ball-like object")  # a hyphen does not hide the noun
    assert not pat.search("a balloon rolls over the cubes")  # neither balloon nor the plural cubes is listed


@pytest.mark.parametrize("dataset", SHIPPED)
def test_taxonomy_show_json_has_text_fields(dataset, capsys):
    assert main(["taxonomy", "show", dataset, "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    text = ct.load_class_text(dataset)
    assert d["class_text"]["object_nouns"] == list(text.object_nouns)
    for c in d["coarse"]:
        assert set(c["text"]) == set(FIELDS) and c["text"] == text.coarse_text(c["id"]).to_dict()
    for f in d["fine"]:
        assert f["text"]["name"] == f["name"] and len(f["text"]["descriptions"]) >= 8
        assert f["text"]["motion_masked"] == text.fine_text(f["slug"]).motion_masked


# ----- importers -----

def test_read_motion_descriptions_csv(tmp_path):
    p = tmp_path / "kinetics400_motion_descriptions.csv"
    p.write_text(
        'punching bag," doing powerful, repeated strikes with both fists against a hanging target."\n'
        'drinking,"lifting a cup to the lips and swallowing."\n'
        'haircut, sitting still while someone trims and styles\n'
        '\n'
        'abseiling,"doing a controlled descent\nof a vertical drop."\n', encoding="utf-8")
    got = ct.read_motion_descriptions_csv(p)
    assert got == {
        "punching bag": "doing powerful, repeated strikes with both fists against a hanging target.",
        "drinking": "lifting a cup to the lips and swallowing.",
        "haircut": "sitting still while someone trims and styles",
        "abseiling": "doing a controlled descent of a vertical drop.",
    }
    with pytest.raises(TabenchError, match="'drinking' names both a coarse and a fine class"):
        ct.match_classes(got, "k400-ta")  # K400-TA's coarse "drinking" is also a Kinetics label
    m = ct.match_classes(got, "k400-ta", level="fine")
    # "drinking" is the official Kinetics label of K400-TA's "drinking water or soft drinks"
    assert m.fine == {"punching_bag": got["punching bag"], "drinking_water_or_soft_drinks": got["drinking"]}
    assert sorted(m.unmatched) == ["abseiling", "haircut"] and m.coarse == {}


def test_read_motion_descriptions_csv_errors(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("abseiling\n", encoding="utf-8")
    with pytest.raises(TabenchError, match=r"a.csv:1: expected class"):
        ct.read_motion_descriptions_csv(p)
    p.write_text('x,"one"\nx,"two"\n', encoding="utf-8")
    with pytest.raises(TabenchError, match="appears twice"):
        ct.read_motion_descriptions_csv(p)
    with pytest.raises(TabenchError, match="cannot read"):
        ct.read_motion_descriptions_csv(tmp_path / "none.csv")


def test_read_gpt3_descriptions_csv(tmp_path):
    fine = tmp_path / "synta_ta_gpt_class_description_fine.csv"
    fine.write_text(
        'SNo,Class Name,GPT3 discription\n'
        '1,Single object appearing by increasing opacity,"\n\nThe object fades into view, from transparent to solid."\n'
        '2,"Single object arriving beside another single object, pausing then going away","\n\nIt stops, waits, leaves."\n',
        encoding="utf-8")
    got = ct.read_gpt3_descriptions_csv(fine)
    assert got == {
        "Single object appearing by increasing opacity": "The object fades into view, from transparent to solid.",
        "Single object arriving beside another single object, pausing then going away": "It stops, waits, leaves.",
    }
    m = ct.match_classes(got, "syn-ta", level="fine")
    assert set(m.fine) == {"single_object_appearing_by_increasing_opacity",
                           "single_object_arriving_beside_another_single_object_pausing_then_going_away"}
    head = tmp_path / "ssv2_ta_gpt_class_description_head.csv"
    head.write_text('SNo,Class Name,GPT3 discription\n1,Pushing,"Moving something by pressing it away."\n'
                    '2,Levitating,"Not a class."\n', encoding="utf-8")
    m = ct.match_classes(ct.read_gpt3_descriptions_csv(head), "ssv2-ta", level="coarse")
    assert m.coarse == {"Pushing": "Moving something by pressing it away."} and m.unmatched == ("Levitating",)


def test_read_gpt3_descriptions_csv_needs_the_header(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("SNo,Class Name,GPT3 description\n1,Pushing,text\n", encoding="utf-8")
    with pytest.raises(TabenchError, match="expected the header SNo,Class Name,GPT3 discription"):
        ct.read_gpt3_descriptions_csv(p)
    with pytest.raises(TabenchError, match="unknown level"):
        ct.match_classes({}, "ssv2-ta", level="both")


def test_import_text_cli_writes_a_loadable_file(tmp_path, capsys):
    src = tmp_path / "kinetics400_motion_descriptions.csv"
    src.write_text('punching bag," doing powerful, repeated strikes with both fists against a hanging target."\n'
                   'abseiling,"doing a controlled descent of a vertical drop."\n', encoding="utf-8")
    out = tmp_path / "k400.text.json"
    assert main(["taxonomy", "import-text", "k400-ta", str(src), "--field", "motion", "--level", "fine",
                 "--out", str(out)]) == 0
    msg = capsys.readouterr().out
    assert "0/41 coarse and 1/205 fine" in msg and "'abseiling'" in msg
    got = ct.load_class_text("k400-ta", path=out)
    shipped = ct.load_class_text("k400-ta")
    assert got.fine_text("punching_bag").motion == "doing powerful, repeated strikes with both fists against a hanging target."
    assert got.fine_text("punching_person_boxing") == shipped.fine_text("punching_person_boxing")
    assert got.fine_text("punching_bag").motion_masked == shipped.fine_text("punching_bag").motion_masked
    assert "imported from kinetics400_motion_descriptions.csv" in got.how_written
    # never clobbers without --force
    assert main(["taxonomy", "import-text", "k400-ta", str(src), "--field", "motion", "--level", "fine",
                 "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err


def test_import_text_cli_gpt3_definitions_and_masked_check(tmp_path, capsys):
    head = tmp_path / "ssv2_ta_gpt_class_description_head.csv"
    head.write_text('SNo,Class Name,GPT3 discription\n1,Pushing,"\n\nMoving something away by pressing on it."\n',
                    encoding="utf-8")
    out = tmp_path / "ssv2.text.json"
    assert main(["taxonomy", "import-text", "ssv2-ta", str(head), "--field", "definition", "--out", str(out)]) == 0
    assert ct.load_class_text("ssv2-ta", path=out).coarse_text("Pushing").definition == \
        "Moving something away by pressing on it."
    # an imported masked text must still be free of the dataset's object nouns
    masked = tmp_path / "masked.csv"
    masked.write_text('Pushing,"pressing a hand against a cup to move it away."\n', encoding="utf-8")
    assert main(["taxonomy", "import-text", "ssv2-ta", str(masked), "--field", "motion_masked", "--level", "coarse",
                 "--out", str(tmp_path / "m.json")]) == 2
    assert "object noun 'cup'" in capsys.readouterr().err
    # a file naming no class of the dataset is an error, not an empty import
    other = tmp_path / "other.csv"
    other.write_text('abseiling,"a controlled descent."\n', encoding="utf-8")
    assert main(["taxonomy", "import-text", "ssv2-ta", str(other), "--field", "motion",
                 "--out", str(tmp_path / "o.json")]) == 2
    assert "no class of ssv2-ta" in capsys.readouterr().err
