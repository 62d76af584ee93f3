"""The declared-language prior for short texts (issue 21), measured on two corpora.

1. The 181 extraction-benchmark pages (../shared/corpus/extraction-benchmark, English news): the
   first N words of each ground-truth body, as a feed summary of that length would be; the
   declared language is the one py3langid gives the whole body.
2. Short news summaries written for this benchmark in ten languages (below), declared correctly,
   and declared wrongly (a feed that says ``en`` but carries an item in another language).

Run: ``python bench/lang_prior.py`` (prints a table; nothing is written).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from pipeline.stages.identify import language_prior
from pipeline.stages.language import detect_language

BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "extraction-benchmark"

OWN = [
    ("de", "Der Stadtrat hat am Dienstag den Bau der neuen Brücke beschlossen."),
    ("de", "Regierung plant Entlastung"),
    ("de", "Die Polizei sucht nach Zeugen eines Unfalls auf der A7 bei Hamburg, bei dem zwei Menschen verletzt wurden."),
    ("es", "El gobierno anunció nuevas medidas económicas."),
    ("es", "Lluvias intensas en Valencia"),
    ("es", "Los sindicatos convocaron una huelga general para el próximo jueves en protesta por la reforma laboral."),
    ("fr", "Le Premier ministre a présenté son budget."),
    ("fr", "Grève dans les transports"),
    ("fr", "Les négociations entre les syndicats et la direction reprendront lundi prochain à Paris, selon une source proche du dossier."),
    ("tr", "Merkez Bankası faiz oranını sabit tuttu."),
    ("tr", "İstanbul'da yoğun kar yağışı"),
    ("tr", "Belediye, yeni metro hattının önümüzdeki yıl hizmete gireceğini açıkladı ve inşaat çalışmalarının sürdüğünü belirtti."),
    ("ru", "Правительство утвердило новый бюджет."),
    ("ru", "Пожар в центре Москвы"),
    ("ru", "Министерство сообщило, что строительство новой дороги завершится к концу следующего года."),
    ("pt", "O presidente visitou a região afetada pelas chuvas."),
    ("pt", "Inflação volta a subir"),
    ("it", "Il governo ha approvato la legge di bilancio."),
    ("it", "Sciopero dei treni venerdì"),
    ("nl", "De gemeenteraad stemde dinsdag in met het plan."),
    ("nl", "Storm treft kust"),
    ("pl", "Rząd przyjął projekt nowej ustawy o podatkach."),
    ("pl", "Powódź na południu kraju"),
    ("sv", "Regeringen presenterade sin budget på tisdagen."),
    ("sv", "Kraftig snöstorm i norr"),
    ("en", "Markets rally"),
    ("en", "Council approves bridge"),
    ("en", "Storm hits coast, thousands without power"),
    ("en", "The minister resigned on Tuesday."),
]


def evaluate(cases):
    """cases: (truth, declared, text) -> counts for detection alone and with the prior."""
    out = {"n": 0, "detect_right": 0, "detect_und": 0, "detect_wrong": 0, "prior_right": 0,
           "prior_und": 0, "prior_wrong": 0, "prior_used": 0}
    for truth, declared, text in cases:
        lang, prob = detect_language(text)
        final, source = language_prior(lang, declared)
        out["n"] += 1
        out["detect_" + ("right" if lang == truth else "und" if lang == "und" else "wrong")] += 1
        out["prior_" + ("right" if final == truth else "und" if final == "und" else "wrong")] += 1
        out["prior_used"] += source == "declared"
    return out


def main() -> int:
    rows = []
    if BENCH.exists():
        truth = json.loads((BENCH / "ground-truth.json").read_text())
        bodies = [v["articleBody"] for v in truth.values() if v.get("articleBody")]
        for n in (5, 10, 20, 40):
            cases = []
            for body in bodies:
                whole, _ = detect_language(body)
                if whole == "und":
                    continue
                cases.append((whole, whole, " ".join(body.split()[:n])))
            rows.append((f"benchmark, first {n} words, declared right", evaluate(cases)))
    rows.append(("own 10-language summaries, declared right", evaluate([(t, t, x) for t, x in OWN])))
    rows.append(("own summaries, feed declares en", evaluate([(t, "en", x) for t, x in OWN])))
    for name, r in rows:
        print(f"{name:48s} n={r['n']:3d} detect right/und/wrong {r['detect_right']}/{r['detect_und']}/"
              f"{r['detect_wrong']}  with prior {r['prior_right']}/{r['prior_und']}/{r['prior_wrong']}"
              f"  (prior used {r['prior_used']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
