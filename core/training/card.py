"""MODEL_CARD.md from a model's manifest: every figure with its interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _fig(d: dict[str, Any], key: str) -> str:
    v, ci = d.get(key), d.get(key + "_ci")
    if v is None:
        return "n/a"
    if ci and ci[0] == ci[0]:  # not NaN
        return f"{v:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f})"
    return f"{v:.3f}"


def _table(reports: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| set | images (patients, positives) | AUC | sensitivity at 80% specificity |"
             " sensitivity at 90% specificity | at the threshold: sensitivity / specificity |"
             " ECE |", "|---|---|---|---|---|---|---|"]
    for name, r in reports.items():
        if "auc" not in r:
            continue
        t = r["at_threshold"]
        lines.append(
            f"| {name} | {r['images']} ({r['patients']}, {r['positives']}) | {_fig(r, 'auc')} |"
            f" {_fig(r, 'sensitivity_at_80_specificity')} |"
            f" {_fig(r, 'sensitivity_at_90_specificity')} |"
            f" {t['sensitivity']:.3f} ({t['sensitivity_ci'][0]:.3f}-{t['sensitivity_ci'][1]:.3f})"
            f" / {t['specificity']:.3f} ({t['specificity_ci'][0]:.3f}-"
            f"{t['specificity_ci'][1]:.3f}) | {_fig(r, 'ece')} |")
    return lines


def _loc(d: dict[str, Any] | None) -> str:
    if not d or not d.get("images"):
        return "n/a"
    ci = d["share_ci"]
    return (f"{d['peak_inside']} of {d['images']} ({d['share']:.2f}, 95% CI {ci[0]:.2f}-"
            f"{ci[1]:.2f})")


def _runs(tr: dict[str, Any]) -> str:
    if tr.get("ships") == "ensemble":
        return (f"{tr['cv_folds']} fold runs (no final run: the fold models ship as an"
                f" ensemble)")
    return f"{tr['cv_folds']} fold runs plus the final run"


def _shipped(tr: dict[str, Any]) -> str:
    return "the shipped ensemble" if tr.get("ships") == "ensemble" else "final model"


def _beyond(b: dict[str, Any] | None) -> list[str]:
    if not b:
        return []
    return [
        "## Does the model add anything to trivial image statistics?",
        f"Logistic regressions fitted on the development patients (out of fold) and scored on"
        f" the {b['held_out_images']} held-out {b['dataset']} images ("
        + ", ".join(b["statistics"]) + "):",
        f"- model alone: AUC {_fig(b['model_alone'], 'auc')}",
        f"- statistics alone: AUC {_fig(b['statistics_alone'], 'auc')}",
        f"- statistics + model: AUC {_fig(b['statistics_plus_model'], 'auc')}",
        *([f"- difference (statistics + model minus statistics alone, paired bootstrap over"
           f" patients): {_fig(b, 'difference')}"] if "difference" in b else []),
        "If the last two agree, what the model knows the statistics know too (breast density,"
        " scanner, processing, site): its score is then not evidence of cancer.", ""]


def write_card(manifest: dict[str, Any], path: Path, *, plots: dict[str, str]) -> Path:
    m = manifest
    tr = m["training"]
    cv = m["metrics"]["cross_validation"]
    test = m["metrics"].get("held_out_test", {})
    lines = [
        f"# Model card: {m['id']}", "",
        "**Research use only. Not a medical device, not for diagnosis or screening decisions.**",
        "", "## What it is",
        f"{m['architecture']}. An image is preprocessed (`{m['preprocessing_version']}`: polarity"
        " fixed, breast turned to the left and cropped, contrast stretched, stretched to a"
        f" {m['canvas']}x{m['canvas']} canvas) and cut into {m['patches']} patches of"
        f" {m['input_size']}x{m['input_size']}; the patch logits are pooled"
        f" (`{m['aggregation']['method']}`, chosen on out-of-fold AUC) and calibrated (Platt,"
        " fitted on out-of-fold predictions). The heatmap is the class activation map of each"
        " patch (exactly Grad-CAM for this head).",
        f"The score is the calibrated probability of cancer **at the prevalence of the"
        f" development data** (about a third of the images are positive), far above screening"
        f" prevalence (well under 1%): it is not a screening risk. Positive at score >="
        f" {m['threshold']:.4f}, chosen for {int(m['operating_point']['target_specificity']*100)}%"
        " specificity on out-of-fold predictions.", "",
        "## Data",
        "- RSNA Screening Mammography Breast Cancer Detection (2022-23), 640x640 re-export,"
        " development subset: cancer / no cancer per breast. Terms: non-commercial research and"
        " education only; cite the RSNA challenge.",
        "- mini-MIAS (Suckling et al. 1994), development subset: malignant / not, with finding"
        " positions. Terms: research use only; cite the database; never rent, lease or sell.",
        f"- Split by patient: {int(m['split']['test_share']*100)}% of patients held out as a test"
        " set (never trained on, never used for a choice); the rest in cross-validation folds"
        f" ({tr['cv_folds']} folds).", "",
        "## Training",
        f"From scratch (no pretrained weights), multiple-instance learning: {tr['epochs']} epochs"
        f" per run, batch {tr['batch_size']} images, AdamW, learning rate"
        f" {tr['learning_rate']}, {tr['precision']}, Keras 3 on {tr['backend']}, seed"
        f" {tr['seed']}. {_runs(tr)} took {tr['seconds']} s on"
        f" {tr['hardware']}. Code commit: {tr.get('code_commit') or 'not recorded'}.", "",
        "## Cross-validated figures (out-of-fold, development patients)", *_table(cv), "",
        "The calibration was fitted on these same out-of-fold predictions, so their ECE is"
        " optimistic (its bootstrap interval may even lie above it); the held-out ECE below is"
        " the honest one.", "",
        f"Heatmap peak inside a mini-MIAS finding (out-of-fold): "
        f"{_loc(cv.get('mias_localisation_any_finding'))}.", "",
        f"## Held-out test patients ({_shipped(tr)}, `mammo evaluate`)",
        *(_table(test) if test else ["Not evaluated."]), "",
        *(f"Heatmap peak inside a finding ({k}): {_loc(v['localisation'].get('any_finding'))}."
          for k, v in test.items()
          if (v.get("localisation") or {}).get("any_finding", {}).get("images")), "",
        "## Shortcut check",
        "AUC (either direction) of trivial image statistics on the held-out test images; values"
        " well above 0.5 mean the classes differ in ways that are not cancer, and part of the"
        " model's AUC may come from the same differences:",
        *(f"- {name}: " + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in b.items())
          for name, b in m["metrics"].get("shortcut_baselines_held_out", {}).items()),
        "- In the RSNA subset the negatives are the lowest patient ids (the data set's README):"
        " the patient id number alone separates the classes (above), so any site or scanner"
        " difference that follows the id is a shortcut the model can learn.",
        "",
        *_beyond(m["metrics"].get("beyond_trivial_statistics")),
        "## Plots", *(f"- {k}: `{v}`" for k, v in plots.items()), "",
        "## Limitations",
        "- The figures above are what this model does; where an interval includes 0.5 AUC the"
        " model is not better than chance and its score must not be read as evidence.",
        "- No prior exams, no other views of the same breast, no digital breast tomosynthesis.",
        "- Low resolution: 640-pixel images (and a 384-pixel canvas) lose most"
        " microcalcifications.",
        "- Possible site bias in the RSNA subset: its negatives are the lowest patient ids, so"
        " scanner or site differences between classes cannot be ruled out.",
        "- Labels are per breast; every view of a cancer breast is positive even where the"
        " lesion does not show. mini-MIAS is digitised film, unlike modern digital images.",
        "- Calibration holds for the development data's case mix only.",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
