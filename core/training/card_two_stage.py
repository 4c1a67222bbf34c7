"""MODEL_CARD.md of a two-stage model: gates, both stages, held-out figures, the ship rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.training.card import _beyond, _loc, _table


def _gates(g: dict[str, Any] | None) -> list[str]:
    if not g:
        return ["The gates were not run for this model."]
    out = []
    m = g.get("memorise")
    if m:
        out.append(f"- (a) memorise {m['patches']} patches (no augmentation, no weight decay):"
                   f" train-mode loss {m['final_train_mode_loss']:.3f} after"
                   f" {m['curve'][-1]['step']} steps (must be < 0.15):"
                   f" {'passed' if m['passes'] else 'FAILED'}.")
    s = g.get("synthetic")
    if s:
        out.append(f"- (b) a faint blob (+{s['amplitude']} grey, sigma {s['blob_sigma_px'][0]}-"
                   f"{s['blob_sigma_px'][1]} px) in half of {s['patches']} digital breast"
                   f" patches, full augmentation, {s['epochs']} epochs: held-out AUC"
                   f" {s['held_out_auc']:.3f} after recomputing BatchNorm statistics (must be >"
                   f" 0.9): {'passed' if s['passes'] else 'FAILED'}.")
    c = g.get("shortcuts")
    if c and "note" in c:
        out.append(f"- (c) shortcut baselines: {c['note']}.")
    elif c:
        out.append(f"- (c) shortcut baselines on this split (RSNA, {c['test_images']} held-out"
                   f" images): intensity statistics AUC"
                   f" {c['intensity_statistics']['held_out_auc']:.3f}, linear probe on a 32x32"
                   f" thumbnail AUC {c['thumbnail_32x32_linear_probe']['held_out_auc']:.3f}.")
    out.extend(f"- Note: {n}" for n in g.get("notes", []))
    return out


def _stage1(tr: dict[str, Any]) -> list[str]:
    s1 = tr["stage1"]
    epochs = tr["stage1_epochs"]
    secs = sum(e["seconds"] for e in epochs)
    curve = ", ".join(f"{e['epoch']}: {e['heldout_patch_auc_eval_mode']:.3f}" for e in epochs
                      if "heldout_patch_auc_eval_mode" in e)
    return [
        f"Lesion against breast tissue on 128x128 patches of the 512-pixel film canvases"
        f" ({s1['n_lesions_dev']} located lesions of development cases: DDSM boxes and every"
        f" located mini-MIAS finding; each epoch every lesion once with jitter, rotations, flips"
        f" and gamma, and two tissue patches per lesion from the same films and the mini-MIAS"
        f" normals). {len(epochs)} epochs, batch {s1['batch_size']}, AdamW (learning rate"
        f" {s1['learning_rate']}, warm-up, cosine, weight decay 0.05, clip norm 1),"
        f" mixed bfloat16, {secs:.0f} s on {tr['hardware']}.",
        f"- Held-out patch AUC (lesion centred vs four tissue patches per lesion, held-out DDSM"
        f" cases and mini-MIAS patients, {s1.get('heldout_patches')} patches):"
        f" **{s1.get('heldout_patch_auc', float('nan')):.3f}**.",
        f"- Monitoring curve (held-out patch AUC by epoch, eval mode; no choice was made on"
        f" it): {curve or 'n/a'}.",
        *_stage1b(s1),
        *_stage1c(s1),
        *_stage1_report(tr.get("stage1_report")),
    ]


def _finetune_curve(eps: list[dict[str, Any]], stage: str, last: bool) -> tuple[float, str]:
    """(seconds, the "after, by epoch" line) of a stage-1 fine-tune's epochs."""
    curve = ", ".join(f"{e['epoch']}: {e['heldout_patch_auc_eval_mode']:.3f}" for e in eps)
    tail = f"; the patch AUC above is stage {stage}'s." if last else "."
    return (sum(e["seconds"] for e in eps),
            f"  after, by epoch (eval mode): {curve or 'n/a'}{tail}")


def _stage1b(s1: dict[str, Any]) -> list[str]:
    hn = s1.get("hard_negative_finetune")
    if not hn:
        return []
    eps = s1.get("hard_epochs", [])
    secs, after = _finetune_curve(eps, "1b", last="cell_finetune" not in s1)
    base = s1.get("base_heldout_patch_auc")
    mined = hn["mined"] if isinstance(hn["mined"], int) else " + ".join(map(str, hn["mined"]))
    rounds = hn.get("rounds", 1)
    extra = []
    if rounds > 1:
        shares = [r.get("share") for r in hn.get("dev_top_window_in_lesion_by_round", [])]
        per = hn["epochs_per_round"]
        extra.append(f"  {rounds} rounds of {per} epoch{'s' * (per != 1)}, each round after the"
                     " first mining anew with the network as it was then; its top window was the"
                     " lesion on this share of the development films when each round mined: "
                     + ", ".join("n/a" if v is None else f"{v:.1%}" for v in shares) + ".")
    top = s1.get("heldout_top_window_in_lesion") or {}
    if top.get("ddsm", {}).get("images"):
        d = top["ddsm"]
        extra.append(f"  After it, on held-out DDSM films its own top window's centre lies in the"
                     f" box on {d['peak_inside']} of {d['images']} ({d['share']:.1%}).")
    return [
        f"- Stage 1b, hard negatives: {mined} windows mined ({hn['from']}; the"
        f" {hn['per_image']} highest per film), added to each epoch next to the lesion and"
        f" random-tissue patches (jitter +-{hn['jitter_px']:.0f} px, augmented); {len(eps)}"
        f" epochs at learning rate {hn['learning_rate']}, {secs:.0f} s. Held-out patch AUC"
        f" before: {base:.3f}" if base is not None else "- Stage 1b: before: n/a",
        after,
        *extra,
    ]


def _stage1c(s1: dict[str, Any]) -> list[str]:
    cf = s1.get("cell_finetune")
    if not cf:
        return []
    eps = s1.get("cell_epochs", [])
    secs, after = _finetune_curve(eps, "1c", last=True)
    before = s1.get("before_cells_heldout_patch_auc")
    left_out = cf.get("excluded_fold")
    return [
        f"- Stage 1c, a loss per cell: {cf['windows']} (lesion centre up to"
        f" +-{cf['offset_px']} px off the window's centre); the stage-1 logit layer is applied"
        f" to every cell of the 4x4 map against the cells whose centre lies in a finding's"
        f" box. {len(eps)} epochs at learning rate {cf['learning_rate']}, {secs:.0f} s"
        + (f"; development fold {left_out}'s films were left out" if left_out is not None
           else "") + ".",
        f"  Held-out patch AUC before: {before:.3f}" if before is not None
        else "  Held-out patch AUC before: n/a",
        after,
    ]


def _stage1_report(r: dict[str, Any] | None) -> list[str]:
    if not r:
        return []
    over = "the breast windows" if "windows" in r.get("layout", "") else "the whole canvas"
    ci = r["patch_auc_ci"]
    out = [f"- Patch AUC with its interval (bootstrap over patches): {r['patch_auc']:.3f}"
           f" ({ci[0]:.3f}-{ci[1]:.3f})."]
    for name, label in (("ddsm", "DDSM box"), ("mias", "mini-MIAS finding")):
        d = r.get(f"{name}_heldout_peak_inside")
        if d:
            out.append(f"- Stage 1's own heatmap (its head over {over}), peak inside the"
                       f" {label} on held-out images: {_loc(d)}.")
    t = r.get("rsna_transfer_zero_shot")
    if t:
        out.append(f"- What transfers to digital images: stage 1's score alone on all"
                   f" {t['images']} RSNA images (never seen in stage 1), cancer against"
                   f" cancer-free: AUC {t['auc']:.3f} ({t['auc_ci'][0]:.3f}-{t['auc_ci'][1]:.3f}).")
    return out


def _decision(v: dict[str, Any] | None) -> list[str]:
    if not v:
        return []
    names = {"cv_auc_ci_above_0.5": "cross-validated AUC interval above 0.5",
             "held_out_rsna_auc_ci_above_0.5": "held-out RSNA AUC interval above 0.5",
             "calibration_slope_positive": "calibration slope positive",
             "adds_to_trivial_statistics": "adds to trivial statistics (interval of the"
                                           " difference above 0)",
             "ddsm_peak_in_box_at_least_half": "heatmap peak in the box on at least half of"
                                               " the held-out DDSM images"}
    return ["## Validation (models/README.md)",
            *(f"- {names.get(k, k)}: {'yes' if ok else '**no**'}" for k, ok in
              v["checks"].items()),
            f"- **{'Passes: installable.' if v['passes'] else 'Fails: not to be installed.'}**",
            ""]


def _reading(m: dict[str, Any]) -> str:
    lay = m.get("layout") or {}
    if lay.get("kind") == "windows":
        return (f"cut into overlapping {lay['window']}x{lay['window']} windows at a stride of"
                f" {lay['stride']} pixels; only windows centred on breast are run. A window's"
                " logit is the mean of its 4x4 cell logits (exactly the class activation map of"
                " the head); the heatmap averages the cells of overlapping windows"
                + (f", a window's border cells weighing {lay['edge_weight']} and its inner"
                   " cells 1" if lay.get("edge_weight", 1.0) != 1.0 else ""))
    return ("read whole; the heatmap is the cell logit map (exactly the class activation map"
            " of the head)")


def _stage2_input(s2: dict[str, Any]) -> str:
    if s2.get("block5"):
        return (f"Stage 1's network run on every breast window ({s2['window']}x{s2['window']},"
                f" stride {s2['stride']}) of every canvas, the 4x4x512 input of its last dense"
                " block cached once with ONNX Runtime")
    if s2.get("layout") == "windows":
        return (f"Stage 1's network run on every breast window ({s2['window']}x{s2['window']},"
                f" stride {s2['stride']}) of every canvas, its 4x4x1024 feature maps cached once"
                f" with ONNX Runtime and projected on their first {s2.get('pca_dims')} principal"
                " components (fitted on development images without labels; the projection is"
                " folded into the shipped graph)")
    return ("Stage 1's network run over whole canvases (feature maps cached once with ONNX"
            " Runtime)")


def _lesion_loss(s2: dict[str, Any]) -> str:
    if s2.get("layout") != "windows":
        return "cell-level"
    return ("window-level (a window whose central 64x64 holds a finding's centre against"
            " windows clear of every finding) and a cell-level (cells whose centre lies in a"
            f" finding's box against cells clear of it, weight {s2.get('cell_weight', 0)})")


def _backbone(s2: dict[str, Any]) -> str:
    if not s2.get("block5"):
        return (" The backbone is frozen in stage 2 (fine-tuning it over 512-pixel canvases does"
                " not fit a CPU session).")
    groups = s2.get("cv_groups") or []
    return (" The network's last dense block (block 5: 16 layers and the final BatchNorm, whose"
            " statistics stay stage 1's) is fine-tuned with the head, on the cached input of"
            " that block for every breast window (blocks 1-4 frozen; AdamW"
            f" {s2.get('lr_block5')} with warm-up and cosine, {s2.get('epochs')} epochs of"
            f" {s2.get('batch_images')} images a batch); out-of-fold predictions come from"
            f" {len(groups)} groups of development folds ({groups}), each scored by the network"
            " trained on the others.")


def _branches(s2: dict[str, Any]) -> str:
    out = ""
    if s2.get("lesion_hidden"):
        out += (f" The lesion losses train a lesion branch of their own ({s2['lesion_hidden']}"
                " hidden units) and the image loss a cancer branch; the cell logit is their sum,"
                " with the lesion logit's gradient stopped on the image loss, so the pooled"
                " image logit weighs each cell's cancer evidence by how much it looks like a"
                " lesion (attention pooling in log space) and the heatmap shows both.")
    if s2.get("peak_weight"):
        out += (" A peak loss (weight"
                f" {s2['peak_weight']}) treats where the heatmap peaks as a classification over"
                " the film's cells: minus the log of the softmax mass on the cells inside a"
                " finding's box.")
    if s2.get("members", 1) > 1:
        out += (f" The head is the mean of {s2['members']} heads trained with different seeds"
                " (stacked side by side in the shipped graph).")
    return out


def write_card(manifest: dict[str, Any], path: Path, *, plots: dict[str, str]) -> Path:
    m = manifest
    tr = m["training"]
    cv = m["metrics"]["cross_validation"]
    test = m["metrics"].get("held_out_test", {})
    ddsm = test.get("ddsm", {})
    s2 = tr["stage2"]
    lines = [
        f"# Model card: {m['id']}", "",
        "**Research use only. Not a medical device, not for diagnosis or screening decisions.**",
        "", *_decision(m.get("validation")),
        "## What it is",
        f"{m['architecture']}. An image is preprocessed (`{m['preprocessing_version']}`:"
        " polarity fixed, breast turned to the left, cropped with its skin line and nipple,"
        f" contrast stretched, stretched to a {m['canvas']}x{m['canvas']} canvas) and"
        f" {_reading(m)}. Image logit: `{m['aggregation']['method']}` (chosen on out-of-fold AUC),"
        " Platt-calibrated on out-of-fold predictions.",
        f"The score is the calibrated probability of cancer **at the prevalence of the"
        f" development data** (about a third of the images are positive), far above screening"
        f" prevalence: it is not a screening risk. Positive at score >= {m['threshold']:.4f},"
        f" chosen for {int(m['operating_point']['target_specificity'] * 100)}% specificity on"
        " out-of-fold predictions.", "",
        "## Data",
        "- RSNA Screening Mammography (2022-23), 640x640 re-export, development subset: cancer"
        " per breast. Non-commercial research and education only; cite the RSNA challenge.",
        "- mini-MIAS (Suckling et al. 1994): malignant or not, finding centres and radii."
        " Research use only; cite the database; never rent, lease or sell.",
        "- DDSM film mammograms with one lesion box each (Roboflow export, CC BY 4.0; Heath et"
        " al. 2001). Used for lesions only, never as image-level cancer positives (there are"
        " no DDSM normals: the model would learn \"film = cancer\").",
        f"- Split by patient (case for DDSM): {int(m['split']['test_share'] * 100)}% held out"
        " as a test set, never trained on and never used for a choice; the rest in"
        f" {tr['cv_folds']} cross-validation folds.", "",
        "## Gates (before the long run)", *_gates(m["metrics"].get("gates")), "",
        "## Stage 1: what a lesion looks like", *_stage1(tr), "",
        "## Stage 2: cancer",
        f"{_stage2_input(s2)}; a head trained on them: {s2['epochs']} epochs, image loss on"
        f" RSNA and mini-MIAS labels (classes balanced) plus a {_lesion_loss(s2)} lesion loss"
        f" on located films (weight {s2['lesion_weight']}).{_branches(s2)}{_backbone(s2)}"
        " The mini-MIAS"
        " and DDSM development images were seen by stage 1, so their out-of-fold figures are"
        " optimistic; RSNA was never seen by stage 1.", "",
        "### Cross-validated figures (out-of-fold, development patients)", *_table(cv), "",
        "The calibration was fitted on these same out-of-fold predictions, so their ECE is"
        " optimistic; the held-out ECE below is the honest one.",
        f"- Heatmap peak inside a mini-MIAS finding (out of fold):"
        f" {_loc(cv.get('mias_localisation_any_finding'))}.",
        f"- Heatmap peak inside the DDSM lesion box (out of fold):"
        f" {_loc(cv.get('ddsm_localisation_oof'))}.",
        *([f"- The same on development fold {cv['ddsm_localisation_oof_unseen_by_stage1c']['fold']}"
           ", whose films stage 1c never trained on:"
           f" {_loc(cv['ddsm_localisation_oof_unseen_by_stage1c'])}."]
          if cv.get("ddsm_localisation_oof_unseen_by_stage1c") else []), "",
        "## Held-out test patients (the shipped ONNX model through the app's own code)",
        *(_table(test) if test else ["Not evaluated."]), "",
        *(f"- Heatmap peak inside a finding, {k}: {_loc(v['localisation'].get('any_finding'))}."
          for k, v in test.items()
          if (v.get("localisation") or {}).get("any_finding", {}).get("images")),
        f"- DDSM (every image holds a lesion; no AUC): mean score {ddsm.get('mean_score', 'n/a')}.",
        "",
        "## Shortcut check",
        "AUC (either direction) of trivial image statistics on the held-out test images:",
        *(f"- {name}: " + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in b.items())
          for name, b in m["metrics"].get("shortcut_baselines_held_out", {}).items()),
        "- In the RSNA subset the negatives are the lowest patient ids: the id number alone"
        " separates the classes, so any site or scanner difference that follows the id is a"
        " shortcut a model can learn.", "",
        *_beyond(m["metrics"].get("beyond_trivial_statistics")),
        "## Plots", *(f"- {k}: `{v}`" for k, v in plots.items()), "",
        "## Limitations",
        "- Where an interval includes 0.5 AUC the model is no better than chance and its score"
        " must not be read as evidence.",
        "- Trained on 2 CPU cores in one session: a short stage 1 and a frozen backbone.",
        "- 640-pixel sources: most microcalcifications are lost.",
        "- Every located lesion is on film; transfer to digital images is what stage 2 must"
        " learn from per-breast labels alone.",
        "- Labels are per breast; every view of a cancer breast is positive even where the"
        " lesion does not show. Calibration holds for the development data's case mix only.",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
