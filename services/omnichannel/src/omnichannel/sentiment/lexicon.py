"""The sentiment lexicon: words with a valence from -4 (very negative) to +4 (very positive), in
Spanish and English, written for what customers of an insurance broker say (claims, renewals,
payments, service). Keys are lower-case and without accents (the scorer folds accents away), so
``pésimo`` and ``pesimo`` are one entry. Valences follow VADER's scale; the English part is a small
hand-picked subset in VADER's spirit, the Spanish part was written for this product.

Also here: negators (flip and damp the next words' valence), intensifiers and diminishers (scale
it), and contrast words (``pero``/``but``: what follows weighs more than what precedes).
"""

from __future__ import annotations

# fmt: off

_ES = {
    # positive
    "gracias": 1.8, "agradezco": 2.0, "agradecido": 2.0, "agradecida": 2.0, "genial": 3.0,
    "excelente": 3.2, "estupendo": 3.0, "estupenda": 3.0, "perfecto": 2.8, "perfecta": 2.8,
    "fantastico": 3.2, "fantastica": 3.2, "maravilloso": 3.2, "maravillosa": 3.2, "bueno": 1.9,
    "buena": 1.9, "buenisimo": 3.0, "bien": 1.5, "contento": 2.4, "contenta": 2.4, "feliz": 2.8,
    "satisfecho": 2.4, "satisfecha": 2.4, "encantado": 2.8, "encantada": 2.8, "rapido": 1.3,
    "rapida": 1.3, "rapidez": 1.6, "amable": 2.2, "amables": 2.2, "util": 1.8, "ayuda": 1.0,
    "ayudado": 1.6, "resuelto": 1.8, "resuelta": 1.8, "solucionado": 1.8, "solucionada": 1.8,
    "recomiendo": 2.4, "recomendare": 2.4, "mejor": 1.8, "facil": 1.5, "claro": 0.8,
    "eficaz": 2.0, "eficiente": 2.0, "profesional": 2.0, "profesionales": 2.0, "atento": 1.8,
    "atenta": 1.8, "encanta": 2.8, "gusta": 1.8, "genialidad": 2.8, "tranquilo": 1.4,
    "tranquila": 1.4, "alivio": 1.8, "enhorabuena": 2.6, "fenomenal": 3.0, "impecable": 3.0,
    "de10": 3.0, "ok": 0.8, "vale": 0.5, "correcto": 1.2, "correcta": 1.2, "barato": 1.2,
    # negative
    "mal": -2.0, "malo": -2.2, "mala": -2.2, "fatal": -3.0, "pesimo": -3.4, "pesima": -3.4,
    "horrible": -3.2, "terrible": -3.2, "desastre": -3.2, "vergonzoso": -3.0, "verguenza": -3.0,
    "vergonzosa": -3.0, "indignado": -3.0, "indignada": -3.0, "indignante": -3.2,
    "harto": -2.8, "harta": -2.8, "hartos": -2.8, "enfadado": -2.6, "enfadada": -2.6,
    "cabreado": -2.8, "cabreada": -2.8, "molesto": -1.9, "molesta": -1.9, "decepcionado": -2.6,
    "decepcionada": -2.6, "decepcion": -2.6, "queja": -2.0, "quejas": -2.0, "reclamacion": -1.2,
    "denunciar": -2.4, "denuncia": -2.0, "abogado": -1.6, "estafa": -3.4, "estafadores": -3.6,
    "ladrones": -3.6, "robo": -2.4, "timo": -3.2, "engano": -3.0, "enganado": -3.0,
    "enganada": -3.0, "inaceptable": -3.2, "lamentable": -2.8, "problema": -1.4,
    "problemas": -1.6, "error": -1.6, "errores": -1.8, "retraso": -1.8, "tarde": -0.8,
    "lento": -1.6, "lenta": -1.6, "caro": -1.4, "cara": -0.6, "abusivo": -2.8, "abusiva": -2.8,
    "nadie": -1.0, "esperando": -1.0, "espera": -0.6, "ignoran": -2.2, "ignorado": -2.2,
    "cancelar": -1.4, "cancelo": -1.6, "baja": -1.0, "irme": -1.2, "peor": -2.6, "nefasto": -3.4,
    "nefasta": -3.4, "incompetentes": -3.2, "incompetencia": -3.2, "inutil": -2.6,
    "inutiles": -2.8, "preocupado": -1.6, "preocupada": -1.6, "triste": -2.0, "imposible": -1.8,
    "frustrado": -2.4, "frustrada": -2.4, "frustrante": -2.4, "rechazado": -1.6,
    "rechazada": -1.6, "denegado": -1.6, "denegada": -1.6, "mentira": -2.8, "mienten": -3.0,
    "asco": -3.2, "odio": -3.2, "ridiculo": -2.6, "ridicula": -2.6, "burla": -2.8,
    "tomadura": -2.4, "nunca": 0.0, "perdida": -1.2, "falta": -1.0, "incumplido": -2.4,
}

_EN = {
    # positive
    "thanks": 1.9, "thank": 1.5, "grateful": 2.2, "great": 3.1, "excellent": 3.2, "good": 1.9,
    "perfect": 2.8, "fantastic": 3.2, "wonderful": 3.2, "amazing": 3.0, "awesome": 3.1,
    "happy": 2.7, "pleased": 2.3, "satisfied": 2.2, "glad": 2.0, "love": 3.0, "like": 1.4,
    "quick": 1.3, "fast": 1.3, "kind": 2.0, "helpful": 2.2, "help": 1.0, "helped": 1.6,
    "solved": 1.8, "resolved": 1.8, "recommend": 2.2, "best": 3.2, "better": 1.9, "easy": 1.6,
    "efficient": 2.0, "professional": 2.0, "nice": 1.8, "appreciate": 2.0, "appreciated": 2.0,
    "smooth": 1.6, "relieved": 1.8, "brilliant": 2.8, "superb": 3.1, "fine": 0.8, "cheap": 1.0,
    "friendly": 2.2, "well": 1.1, "outstanding": 3.2,
    # negative
    "bad": -2.5, "terrible": -3.2, "awful": -3.1, "horrible": -3.2, "worst": -3.4,
    "worse": -2.4, "disgrace": -3.0, "disgraceful": -3.2, "outrageous": -3.0,
    "unacceptable": -3.2, "angry": -2.6, "furious": -3.2, "annoyed": -2.0, "upset": -2.2,
    "disappointed": -2.4, "disappointing": -2.4, "complaint": -1.8, "complain": -1.8,
    "scam": -3.4, "scammers": -3.6, "fraud": -2.6, "thieves": -3.4, "cheated": -3.0,
    "lie": -2.6, "lied": -2.8, "lies": -2.6, "lying": -2.8, "useless": -2.8,
    "incompetent": -3.0, "problem": -1.4, "problems": -1.6, "issue": -1.0, "error": -1.6,
    "delay": -1.6, "delayed": -1.6, "late": -1.2, "slow": -1.6, "expensive": -1.4,
    "ignored": -2.2, "ignoring": -2.2, "waiting": -1.0, "cancel": -1.4, "lawyer": -1.6,
    "sue": -2.6, "ridiculous": -2.6, "joke": -1.4, "hate": -3.0, "sick": -1.8, "tired": -1.4,
    "frustrated": -2.4, "frustrating": -2.4, "worried": -1.6, "sad": -2.0, "rejected": -1.6,
    "denied": -1.6, "nobody": -1.0, "poor": -2.0, "rude": -2.6, "pathetic": -3.0,
    "shameful": -3.0, "nightmare": -3.0, "mess": -2.0, "wrong": -1.8, "fed": -0.6,
    "never": 0.0, "rip": -2.0, "ripoff": -3.0, "disaster": -3.2,
}

LEXICON: dict[str, float] = {**_EN, **_ES}

NEGATORS = frozenset(
    {
        # es
        "no", "nunca", "jamas", "ni", "tampoco", "sin", "nada", "ningun", "ninguna", "ninguno",
        # en (apostrophes split tokens: "don't" -> "don" "t")
        "not", "never", "nothing", "without", "dont", "don", "didn", "doesn", "isn",
        "wasn", "aren", "weren", "cannot", "cant", "won", "wouldn", "couldn", "hasn", "haven",
        "hardly",
    }
)

INTENSIFIERS: dict[str, float] = {
    # es
    "muy": 1.35, "mucho": 1.25, "muchisimo": 1.5, "muchisimas": 1.4, "muchas": 1.2,
    "super": 1.35, "totalmente": 1.4, "completamente": 1.4, "absolutamente": 1.4,
    "increiblemente": 1.45, "realmente": 1.25, "demasiado": 1.3, "tan": 1.3, "bastante": 1.15,
    "extremadamente": 1.5, "sumamente": 1.45, "tremendamente": 1.45, "nada": 1.0,
    "poco": 0.6, "algo": 0.7, "ligeramente": 0.6,
    # en
    "very": 1.35, "really": 1.3, "extremely": 1.5, "so": 1.3, "absolutely": 1.4,
    "completely": 1.4, "totally": 1.4, "incredibly": 1.45, "too": 1.2, "truly": 1.3,
    "utterly": 1.5, "quite": 1.1, "slightly": 0.6, "somewhat": 0.7, "bit": 0.7,
    "little": 0.7,
}

CONTRAST = frozenset({"pero", "aunque", "sin embargo", "but", "however", "although"})
# fmt: on
