"""class_text: what a video-text model's label space is made of (tabench.classtext), the frozen text
classifier of seed 003 and CoCo (seed 004)."""
import json

import pytest
import torch
import torch.nn.functional as F

from tabench import TabenchError
from tabench import config as C
from tabench.classtext import ClassPrompt, enriched_prompt, label_texts, rank_descriptions, resolve
from tabench.models import create_model
from tabench.taxonomy import load as load_taxonomy

X = torch.randn(4, 3, 8, 48, 48)
Y = torch.tensor([0, 1, 2, 0])


def _fields(i: int) -> dict:
    return dict(name=f"class {i}", definition=f"the action number {i} is defined like this",
                descriptions=[f"someone performs movement {i} in style {j}" for j in range(4)])


def test_class_prompt_embedding_is_the_weighted_sum_of_normalised_sentence_embeddings():
    m = create_model("vt_minilm_tiny", 2)
    a, b = "a ball rolls to the left", "a cube falls down onto the floor"
    m.set_class_texts([ClassPrompt((a, b), (0.25, 0.75)), ClassPrompt((b,), (1.0,))])
    got = m.text_features()
    fa, fb = (F.normalize(m.text([t]).float(), dim=-1)[0] for t in (a, b))
    want = F.normalize(0.25 * fa + 0.75 * fb, dim=-1)
    assert torch.allclose(got[0], want, atol=1e-5)
    assert torch.allclose(got[1], fb, atol=1e-5)
    # a plain string still gets the model's prompt templates, a name prompt does not
    m.set_class_texts(["a ball rolls", "a cube falls"])
    templated = m.text_features()[0]
    m.set_class_texts([ClassPrompt(("a ball rolls",), (1.0,)), ClassPrompt(("a cube falls",), (1.0,))])
    assert not torch.allclose(templated, m.text_features()[0], atol=1e-4)


def test_mixed_or_empty_label_spaces_are_refused():
    m = create_model("vt_minilm_tiny", 2)
    with pytest.raises(TabenchError):
        m.set_class_texts(["a", ClassPrompt(("b",), (1.0,))])
    with pytest.raises(TabenchError):
        ClassPrompt(("a", "b"), (1.0,))
    with pytest.raises(TabenchError):
        ClassPrompt(("  ",), (1.0,))


def test_enriched_prompt_ranks_descriptions_by_similarity_to_the_name_and_keeps_alpha():
    f = dict(name="juggling balls", definition="keeping several balls in the air by throwing and catching them",
             descriptions=["a chef slices onions in a kitchen", "a person juggles three balls in a park",
                           "cars drive along a motorway at night", "a performer juggling balls on stage"])
    ranked = rank_descriptions(f["name"], f["descriptions"])
    assert set(ranked[:2]) == {f["descriptions"][1], f["descriptions"][3]}
    p = enriched_prompt(f, 0.3, 2)
    assert p.texts[0] == f["definition"] and set(p.texts[1:]) == set(ranked[:2])
    assert p.weights == pytest.approx((0.3, 0.35, 0.35))
    assert len(enriched_prompt(f, 0.5, None).texts) == 5  # k None: every description


def test_frozen_text_classifier_trains_only_the_video_side():
    m = create_model("vt_minilm_tiny", 3)
    m.set_class_texts(["falling", "rising", "orbiting"])
    m.freeze_text_classifier()
    before = m.class_embeddings().detach().clone()
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.5)
    m.train()
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(m(X), Y).backward()
        opt.step()
    assert not m.logit_scale.requires_grad and not any(p.requires_grad for p in m.text_proj.parameters())
    assert torch.allclose(m.class_embeddings(), before)  # the prototypes are fixed weights
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.visual.parameters())


def test_config_validates_class_text_settings(tmp_path):
    cfg = C.default_config()
    for bad in ({"class_text": "captions"}, {"class_text": str(tmp_path / "missing.json")},
                {"class_text_alpha": 1.5}, {"class_text_k": 0}, {"text_classifier": "fixed"}):
        with pytest.raises(TabenchError):
            C.merge(cfg, bad)
    f = tmp_path / "texts.json"
    f.write_text("{}")
    assert C.merge(cfg, {"class_text": str(f), "class_text_alpha": 1})["class_text_alpha"] == 1.0


def test_text_settings_are_refused_for_unimodal_models_and_transductive_needs_coco():
    uni = create_model("rgbdiff_tiny", 3)
    with pytest.raises(TabenchError, match="video-text models only"):
        resolve({"model": "rgbdiff_tiny", "class_text": "motion"}, uni)
    vt = create_model("vt_minilm_tiny", 3)
    with pytest.raises(TabenchError, match="transductive"):
        resolve({"model": "vt_minilm_tiny", "transductive": True}, vt)
    assert resolve({"class_text": None}, vt)["class_text"] == "templates"
    assert resolve({"class_text": None}, create_model("coco_minilm_tiny", 3))["class_text"] == "enriched"


def test_user_json_file_gives_each_class_its_texts(tmp_path):
    tax = load_taxonomy("syn-ta")
    names = tax.labels(1, "coarse")
    f = tmp_path / "mine.json"
    f.write_text(json.dumps({n.upper(): [f"{n} one", f"{n} two"] for n in names}))
    got = label_texts({"class_text": str(f)}, tax, 1, "coarse")
    assert got[0] == ClassPrompt((f"{names[0]} one", f"{names[0]} two"), (0.5, 0.5))
    f.write_text(json.dumps({n: "x" for n in names[1:]}))
    with pytest.raises(TabenchError, match="no text for 1 of"):
        label_texts({"class_text": str(f)}, tax, 1, "coarse")


def test_coco_dual_alignment_fusion_and_cycle():
    m = create_model("coco_minilm_tiny", 3)
    seen = [enriched_prompt(_fields(i), 0.5, None) for i in range(3)]
    m.set_class_texts(seen)
    m.train()
    logits = m(X)
    video, zl, zc, z = m._train_parts
    assert torch.allclose(logits, video @ zl.t() / 0.1, atol=1e-5)  # the loop's CE is the definition term
    aux = m.auxiliary_loss(Y)
    assert torch.allclose(aux, F.cross_entropy(video @ zc.t() / 0.1, Y), atol=1e-5)
    # CIM adds gamma * L_cycle once the unseen classes' texts are given (transductive); compared with the
    # description term of the same forward (another forward draws other dropout masks)
    m(X)
    video, _, zc, _ = m._train_parts
    description_term = F.cross_entropy(video @ zc.t() / 0.1, Y)
    m.set_unseen_class_texts([enriched_prompt({**_fields(i + 10)}, 0.5, None) for i in range(4)])
    assert m.auxiliary_loss(Y) > description_term + 1e-6
    m(X)
    loss = F.cross_entropy(m(X), Y) + m.auxiliary_loss(Y)
    loss.backward()
    assert all(p.grad is not None for n, p in m.named_parameters() if p.requires_grad), "every trainable param"
    m.eval()
    with torch.no_grad():
        out = m(X)
        video = F.normalize(m.encode_video(X), dim=-1)
        zl, zc, _ = m._embed_sources(seen)
    assert torch.allclose(out, video @ (0.5 * zl + 0.5 * zc).t() / 0.1, atol=1e-5)  # alpha fusion at inference
    with pytest.raises(TabenchError, match="enriched"):
        m.set_class_texts(["a", "b", "c"])
        m(X)


# --------------------------------------------------------------------------- with the shipped class texts
@pytest.mark.parametrize("level", ["coarse", "fine"])
def test_every_class_text_source_changes_the_text_embeddings(level):
    tax = load_taxonomy("syn-ta")
    m = create_model("vt_minilm_tiny", 2)
    feats = {}
    for source in ("templates", "name", "motion", "motion_masked", "definition", "enriched"):
        m.set_class_texts(label_texts({"class_text": source}, tax, 1, level))
        feats[source] = m.text_features().clone()
    names = list(feats)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not torch.allclose(feats[a], feats[b], atol=1e-3), (a, b)
    # enriched with alpha 1 is the definition alone; k=1 keeps one description
    m.set_class_texts(label_texts({"class_text": "enriched", "class_text_alpha": 1.0}, tax, 1, level))
    assert torch.allclose(m.text_features(), feats["definition"], atol=1e-5)
    assert all(len(p.texts) == 2 for p in label_texts({"class_text": "enriched", "class_text_k": 1}, tax, 1, level))


def test_user_csv_files_of_both_released_layouts_are_matched_to_classes(tmp_path):
    tax = load_taxonomy("syn-ta")
    names = tax.labels(2, "fine")
    seed3 = tmp_path / "motion.csv"
    seed3.write_text("".join(f'"{n}","the {i}th motion, described"\n' for i, n in enumerate(names)))
    got = label_texts({"class_text": str(seed3)}, tax, 2, "fine")
    assert got[3].texts == ("the 3th motion, described",)
    gpt3 = tmp_path / "gpt3_head.csv"
    gpt3.write_text("SNo,Class Name,GPT3 discription\n"
                    + "".join(f'{i},{n},"what {n} is"\n' for i, n in enumerate(tax.coarse_names())))
    got = label_texts({"class_text": str(gpt3)}, tax, 1, "coarse")
    assert got[0].texts == (f"what {tax.coarse_names()[0]} is",)


# ------------------------------------------------------------------------------------- protocols
@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from test_train import make_tiny_dataset

    return make_tiny_dataset(tmp_path_factory.mktemp("ctext") / "data", train_per_class=3, val_per_class=2)


def _vt_cfg(**kw):
    from test_train import tiny_config

    return tiny_config(**{"model": "vt_minilm_tiny", "frames": 4, "size": 32, "epochs": 1, **kw})


def test_retrieval_task_scores_object_and_masked_descriptions_from_prediction_files(tiny_data, tmp_path):
    from tabench.protocol import run_benchmark
    from tabench.results import compute_results, load_run, read_predictions

    run = tmp_path / "retr"
    res = run_benchmark(_vt_cfg(text_classifier="frozen"), tiny_data, run, level="fine", task="retrieval")
    assert res["task"] == "retrieval" and res["class_text"] == {"source": "motion"}
    assert res["text_classifier"] == "frozen" and res["transductive"] is False
    for cond in ("motion", "motion_masked"):
        fresh = compute_results(run / "retrieval" / cond, "syn-ta", "vt_minilm_tiny", "fine")
        assert res["retrieval"][cond]["directions"] == fresh["directions"]
        preds = read_predictions(run / "retrieval" / cond, 1, "unknown")
        assert all(0 <= p.pred < len(load_taxonomy("syn-ta").fine_of_set(2)) for p in preds)
    # the masked descriptions are a different label space: the scores differ somewhere
    a = read_predictions(run / "retrieval" / "motion", 1, "known")
    assert len(a) == 8
    stored = json.loads((run / "results.json").read_text())
    assert stored["retrieval"]["motion"]["mean"] == res["retrieval"]["motion"]["mean"]
    load_run(run)
    with pytest.raises(TabenchError, match="--level fine"):
        run_benchmark(_vt_cfg(), tiny_data, tmp_path / "bad", level="coarse", task="retrieval")


def test_zsar_splits_classes_across_sets_and_results_follow_from_predictions(tiny_data, tmp_path, capsys):
    from tabench import cli
    from tabench.zsar import load_zsar, predictions_file, read_zsar_predictions

    out = tmp_path / "zsar"
    rc = cli.main(["zsar", "--data", str(tiny_data), "--out", str(out), "--splits", "2", "--seen-fraction", "0.5",
                   "--seed", "3", "--model", "vt_minilm_tiny", "--frames", "4", "--size", "32", "--epochs", "1",
                   "--batch-size", "4", "--workers", "0", "--no-progress", "--set", "tensorboard=false"])
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    for key in ("top1", "top5"):
        assert set(res[key]) == {"mean", "std", "per_split"} and len(res[key]["per_split"]) == 2
        assert res[key]["mean"] == pytest.approx(sum(res[key]["per_split"]) / 2)
    assert len(res["excluded"]) == 100 - 8  # the tiny data has 8 fine classes with videos
    for sp in res["splits"]:
        assert len(sp["seen"]) == 4 and len(sp["unseen"]) == 4 and not set(sp["seen"]) & set(sp["unseen"])
    assert res["splits"][0] != res["splits"][1]
    rows = read_zsar_predictions(predictions_file(out, 0))
    assert len(rows) == 4 * 2 and all(0 <= p < 4 for _, _, p, _ in rows)  # unseen classes' val videos only
    top1 = 100 * sum(t == p for _, t, p, _ in rows) / len(rows)
    assert res["top1"]["per_split"][0] == pytest.approx(top1)
    assert load_zsar(out)["top1"] == res["top1"]
    # a re-run skips finished splits; other settings are refused
    capsys.readouterr()
    assert cli.main(["zsar", "--data", str(tiny_data), "--out", str(out), "--splits", "2", "--seed", "3",
                     "--model", "vt_minilm_tiny", "--frames", "4", "--size", "32", "--epochs", "1",
                     "--batch-size", "4", "--workers", "0", "--no-progress", "--set", "tensorboard=false"]) == 0
    assert "training" not in capsys.readouterr().out
    assert cli.main(["zsar", "--data", str(tiny_data), "--out", str(out), "--splits", "2", "--seed", "4",
                     "--model", "vt_minilm_tiny"]) == 2


def test_transductive_coco_run_is_marked_and_sees_unseen_texts(tiny_data, tmp_path, monkeypatch):
    from tabench.models.videotext.coco import CoCo
    from tabench.protocol import run_benchmark

    given = []
    orig = CoCo.set_unseen_class_texts
    monkeypatch.setattr(CoCo, "set_unseen_class_texts", lambda self, p: (given.append(list(p)), orig(self, p)))
    run = tmp_path / "coco"
    res = run_benchmark(_vt_cfg(model="coco_minilm_tiny", transductive=True), tiny_data, run, level="fine")
    assert res["transductive"] is True and res["class_text"]["source"] == "enriched"
    tax = load_taxonomy("syn-ta")
    assert [len(g) for g in given] == [len(tax.fine_of_set(2)), len(tax.fine_of_set(1))]  # the other set's
    with pytest.raises(TabenchError, match="unseen classes"):
        run_benchmark(_vt_cfg(model="coco_minilm_tiny", transductive=True), tiny_data, tmp_path / "c2",
                      level="coarse")


def _fake_fine_run(run, model, known, unknown, transductive=None):
    from tabench.results import Prediction, write_predictions, write_results

    for s in (1, 2):
        for kind, acc in (("known", known), ("unknown", unknown)):
            write_predictions(run, s, kind, [Prediction(f"v{i}.mp4", i % 40, i % 40 if i < acc else (i + 1) % 40)
                                             for i in range(100)])
    extra = {"class_text": {"source": "enriched", "alpha": 0.5, "k": None}}
    if transductive is not None:
        extra["transductive"] = transductive
    return write_results(run, "syn-ta", model, "fine", extra=extra)


def test_report_marks_transductive_runs_in_every_format(tmp_path, capsys):
    from tabench.cli import main
    from tabench.html_report import write_html_report

    _fake_fine_run(tmp_path / "coco-td", "coco_minilm_tiny", 60, 40, transductive=True)
    _fake_fine_run(tmp_path / "coco", "coco_minilm_tiny", 60, 30, transductive=False)
    _fake_fine_run(tmp_path / "vt", "vt_minilm_tiny", 50, 20)  # older run: no key = inductive
    runs = [str(tmp_path / r) for r in ("coco-td", "coco", "vt")]
    assert main(["report", *runs]) == 0
    md = capsys.readouterr().out
    assert "| coco_minilm_tiny [transductive] | 60.00 | 40.00 |" in md
    assert "| coco_minilm_tiny | 60.00 | 30.00 |" in md and "| vt_minilm_tiny | 50.00 |" in md
    assert "[transductive]: trained with the unseen classes' texts" in md
    assert main(["report", *runs, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(",hm,transductive")
    assert [l.rsplit(",", 1)[1] for l in lines[1:]] == ["true", "false", "false"]
    assert main(["report", *runs, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)[0]["rows"]
    assert [r["transductive"] for r in rows] == [True, False, False]
    assert main(["report", runs[1], runs[2]]) == 0  # no transductive run: no mark, no note
    assert "transductive" not in capsys.readouterr().out
    page = write_html_report(runs, tmp_path / "html").read_text()
    assert page.count("<b class='td'>[transductive]</b>") == 2  # the Tab. 3 row and the per-direction row
    assert "coco-td: transductive" in page and "not zero-shot" in page


def test_froster_teacher_encodes_the_same_class_prompts_as_the_student():
    """FROSTER's text distillation target is the frozen teacher's embedding of the *same* label space: with
    enriched prompts (several weighted sentences per class) the teacher must encode all of them, not the first."""
    import copy

    from tabench.models.videotext.core import freeze

    tax = load_taxonomy("syn-ta")
    prompts = label_texts({"class_text": "enriched"}, tax, 1, "coarse")[:4]
    m = create_model("froster_minilm_tiny", num_classes=4, class_texts=prompts)
    m.teacher_text = freeze(copy.deepcopy(m.text))  # a teacher identical to the student's tower (before training)
    with torch.no_grad():
        teacher, student = m._teacher_text(), m.text_features()
        first_only = F.normalize(m.text([p.texts[0] for p in prompts]).float(), dim=-1)
    assert teacher.shape == student.shape == first_only.shape
    assert torch.allclose(teacher, student, atol=1e-5)
    assert not torch.allclose(teacher, first_only, atol=1e-3)
