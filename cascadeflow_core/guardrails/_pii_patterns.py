"""Data of the PII detector: the patterns that find candidates, the cue words that confirm them,
card issuer prefixes, IBAN lengths per country, secret token shapes and the cheap-gate anchors.

Kept apart from the logic in ``_pii`` (finders and checks) so that the logic reads in one screen.
"""

from __future__ import annotations

import re

# --- patterns --------------------------------------------------------------------------------------
# Patterns start with the character they need (a digit, "+", a literal prefix) and check what precedes
# it with a lookbehind placed after it, so the regex engine can skip ahead instead of trying every
# position; that is the difference between ~5 and ~25 microseconds per KB and pattern.
# The local part starts with a letter or digit and may hold RFC 5322's other atext characters that
# occur in real addresses (o'brien, ann!x, *~^); not "=", "?", "&", "#", "/", "|" (query strings, paths).
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+'!*~^{}-]{0,63}$")
_EMAIL_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![\w-])")
# Phone: +CC (or 00CC) and groups; or a national number with separators, kept only when it is formatted
# like a North American number or a phone word is near (and no order/invoice/tracking word is).
_PHONE_INTL = re.compile(
    r"(?:\+(?<![\w+/.-]\+)|0(?<![\w+/.-]0)0)[1-9]\d{0,2}[ .-]?(?:\(0\)[ .-]?)?"
    r"(?:\(?\d{1,5}\)?[ .-]?){1,5}\d{2,5}(?![\w/-]|\.\d)"
)
_PHONE_NAT = re.compile(
    r"(?:\((?<![\w+/.-]\()\d{2,5}\)[ .-]?|\d(?<![\w+/.(-]\d)\d{0,4}[ .-])\d{2,8}"
    r"(?:[ .-]\d{2,8}){0,3}(?![\w/-]|\.\d)"
)
# Ten or eleven bare digits are a phone number only right after a strong phone word ("call me at").
_PHONE_BARE = re.compile(r"\d(?<![\w+/.,-]\d)\d{9,10}(?![\w/-]|[.,]\d)")
_PHONE_STRONG_CUE = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|call|ring|text|sms|whatsapp|fax|"
    r"teléfono|telefon|téléphone|portable|handy)\b[^\d\n]{0,20}$"
)
_GROUP_BEFORE = re.compile(r"\d[ .-]$")
_GROUP_AFTER = re.compile(r"[ .-]\d")
_DATE_LIKE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}")
_PHONE_CUE = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell|call|ring|text|sms|whatsapp|signal|fax|contact|"
    r"reach|landline|hotline|teléfono|telefono|telefon|téléphone|portable|handy|joindre|"
    r"rufen|llamar|llamad|numéro|número|nummer|cellulare)\b",
    re.I,
)
_ID_CUE = re.compile(
    r"(?i)\b(?:order|invoice|ref|reference|ticket|case|part|sku|tracking|po|account|acct|id|"
    r"serial|lot|batch|isbn|ean|upc|customer|confirmation|booking|receipt|transaction)\b"
    r"|no\.|#"
)
_SSN = re.compile(r"(\d(?<![\w-]\d)\d{2})([- ]?)(\d{2})\2(\d{4})(?![\w-])")
_SSN_CUE = re.compile(r"\b(?:ssn|social security|soc\.? sec|tax id|tin|itin)\b", re.I)
_CARD = re.compile(r"\d(?<![\w.-]\d)(?:[ .-]?\d){12,18}(?![\w-]|\.\d)")
# Dotted card numbers must be grouped the way cards are printed (a dotted run is otherwise a version).
_CARD_GROUPS = ((4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 2), (4, 4, 4, 3))
_CARD_CUE = re.compile(
    r"\b(?:card|credit|debit|visa|mastercard|amex|american express|discover|jcb|diners|"
    r"unionpay|maestro|payment|cc|pay|paid|charge|charged|billing|tarjeta|karte|carte|"
    r"kreditkarte|carta)\b",
    re.I,
)
# IBAN: found from its check digits (a digit is rarer than a letter), then two letters before them;
# the country's length then says exactly how many characters (spaces between groups allowed) follow.
_IBAN_HEAD = re.compile(r"\d(?<=(?<![A-Za-z0-9])[A-Za-z]{2}\d)\d")
_IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?!\w|\.\d)")
_VERSION_CUE = re.compile(
    r"(?:\bv(?:ersion)?|release|build|\bver|patch|update|firmware|sdk|kernel|driver|agent|"
    r"python|node|chrome|firefox|ios|android|windows|oid|mib|section|chapter|§)[\s.:]*$",
    re.I,
)
# Dates: numeric (any order), and day-month-year / month-day-year with month names in en/fr/de/es/it.
_MONTH = (
    r"(?:jan|feb|febr|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|janv|févr|fevr|mars|avr|mai|juin|"
    r"juil|août|aout|déc|mär|maer|mrz|okt|dez|ene|abr|mayo|ago|dic|gen|mag|giu|lug|set|ott)[^\W\d_]*\.?"
)
_DATE = re.compile(
    r"(?<!\d)(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})"
    rf"|\d{{1,2}}(?:st|nd|rd|th|er|º)?\.?\s+(?:of\s+|de\s+)?{_MONTH},?\s+(?:de\s+)?\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})(?!\d)",
    re.I,
)
_DOB_WORDS = (
    "born",
    "birth",
    "birthday",
    "birthdate",
    "dob",
    "d.o.b",
    "né",
    "née",
    "naissance",
    "geboren",
    "geburtsdatum",
    "geburtstag",
    "nacimiento",
    "nacido",
    "nacida",
    "nascita",
    "nato il",
    "nata il",
)
_DOB_CUE = re.compile(
    r"(?i)(?<!\w)(?:" + "|".join(re.escape(w) for w in _DOB_WORDS) + r"|date of birth)(?!\w)"
)
_SENTENCE_END = re.compile(r"[!?\n]|\.\s")
# Street addresses: number + capitalised name + street type (en), name+straße + number (de),
# number + rue/avenue + name (fr), or calle/via + name + number (es/it/pt). A match must also sit
# where addresses sit: after an address word, or followed by a comma, a city, a unit or the end.
_STREET_TYPES = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace|"
    r"Parkway|Pkwy|Highway|Hwy|Square|Sq|Close|Crescent|Gardens|Row|Walk|Circle|Cir|Trail|Mews|Grove"
)
_STREET_US = re.compile(
    r"\d(?<![\w/.,:-]\d)\d{0,5}[A-Za-z]?(?:-\d{1,4})?\s{1,3}(?:(?:[A-Z][\w'.-]{0,30}|\d{1,3}(?:st|nd|rd|th))\s{1,3}){1,4}"
    rf"(?:{_STREET_TYPES})\b\.?(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
    r"(?:,?\s+(?i:apt|apartment|suite|ste|unit|flat|floor|fl|#)\.?\s*[\w-]{1,6})?"
)
_STREET_DE = re.compile(
    r"(?:straße|strasse|str\.|weg|platz|gasse|allee|ring|damm|ufer)\s+\d{1,4}[a-z]?(?![\w])", re.I
)
_STREET_FR = re.compile(
    r"\d(?<![\w/.,:-]\d)\d{0,3}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|"
    r"allée|impasse|quai|route)\s+(?:(?:de la|de l'|du|des|de|d')\s*)?[A-ZÀ-Ý][\w'-]{1,40}"
    r"(?:[ -](?:de |du |des |la |le )?[A-ZÀ-Ý][\w'-]{1,40}){0,3}"
)
_STREET_ES_IT = re.compile(
    r"\b(?:Calle|Avenida|Carrer|Plaza|Paseo|Camino|Via|Viale|Corso|Piazza|Largo|Rua|Praça"
    r")\s+(?:(?:de|del|della|di|da|do|dos|la|las|los)\s+)?"
    r"(?:[A-ZÀ-Ý][\w'.-]*\s+){1,3},?\s*(?:n\.?\s*|nº\s*)?\d{1,4}[a-zA-Z]?(?!\w)"
)
_ADDRESS_CUE = re.compile(
    r"(?i)\b(?:address|addr|ship|shipping|shipped|deliver|delivery|send|sent|mail|post|live|"
    r"lives|living|moved|move|located|location|office|store|shop|warehouse|visit|return|"
    r"billing|home|residence|at|to|from|adresse|anschrift|dirección|direccion|indirizzo|"
    r"livraison|lieferadresse|envíelo|envialo)\b"
)
_ADDRESS_AFTER = re.compile(r"\s*(?:$|[,;:)\n]|\.(?:\s|$)|\s+\d{4,5}\b|\s+[A-Z]{1,2}\d)")
_STREET_CAPS = re.compile(r"\d{1,6}[A-Za-z]?(?:-\d{1,4})?,?\s+[A-Z0-9]")

# Secrets: provider token shapes (kind, pattern, score). The random part must look random (see
# ``_random_enough``), so ``sk-folding-cube-animation`` (a CSS class) and ``AKIAXXXXXXXXXXXXXXXX``
# (a placeholder) are not keys.
_SECRETS: tuple[tuple[str, re.Pattern[str], float], ...] = tuple(
    (k, re.compile(p), s)
    for k, p, s in (
        ("anthropic_api_key", r"sk-ant-(?<![\w-]sk-ant-)(?:api|admin)\d{2}-[A-Za-z0-9_-]{20,200}", 0.99),
        ("openai_api_key", r"sk-(?<![\w-]sk-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}(?![\w-])", 0.95),
        ("aws_access_key", r"A(?<![A-Z0-9]A)(?:KIA|SIA|GPA|IDA|ROA|NPA)[A-Z0-9]{16}(?![A-Z0-9])", 0.95),
        (
            "github_token",
            r"g(?<!\wg)(?:h[pousr]_[A-Za-z0-9]{36,255}|ithub_pat_[A-Za-z0-9_]{22,255})(?!\w)",
            0.99,
        ),
        ("slack_token", r"xox(?<![\w-]xox)[abposre]-[A-Za-z0-9-]{10,200}", 0.97),
        ("stripe_key", r"[sr]k_(?<!\w[sr]k_)(?:live|test)_[A-Za-z0-9]{16,200}", 0.97),
        ("google_api_key", r"AIza(?<![\w-]AIza)[0-9A-Za-z_-]{35}(?![\w-])", 0.97),
        (
            "jwt",
            r"eyJ(?<![\w-]eyJ)[A-Za-z0-9_-]{8,2000}\.eyJ[A-Za-z0-9_-]{8,4000}\.[A-Za-z0-9_-]{8,2000}",
            0.9,
        ),
        ("huggingface_token", r"hf_(?<!\whf_)[A-Za-z]{34,40}(?![\w])", 0.95),
        ("gitlab_token", r"gl(?<![\w-]gl)(?:pat|dt|ptt|rt|oas|cbt)-[A-Za-z0-9_-]{20,64}(?![\w-])", 0.97),
        ("npm_token", r"npm_(?<!\wnpm_)[A-Za-z0-9]{36}(?!\w)", 0.97),
        ("slack_token", r"xapp-(?<![\w-]xapp-)\d-[A-Za-z0-9-]{10,200}", 0.97),
        ("stripe_key", r"whsec_(?<!\wwhsec_)[A-Za-z0-9]{24,200}(?!\w)", 0.95),
        # Azure storage / Service Bus / Event Hubs keys in connection strings. A ``value`` group, when a
        # pattern has one, is where the secret starts (the match may begin earlier or later than it).
        (
            "azure_key",
            r"(?i:AccountKey|SharedAccessKey)=(?P<value>[A-Za-z0-9+/]{40,100}={0,2})(?![A-Za-z0-9+/=])",
            0.95,
        ),
        # Azure AD (Entra) client secrets: 3 characters, a digit, "Q~", 31-34 characters.
        (
            "azure_client_secret",
            r"~(?<=(?<![\w.~-])(?P<value>[A-Za-z0-9_.~-]{3}\dQ~))[A-Za-z0-9_.~-]{31,34}(?![\w.~-])",
            0.9,
        ),
    )
)
# PEM private keys: the header, then (found with str.find, so a thousand headers stay linear) the footer.
_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----")
_PREFIX = re.compile(
    r"(?:sk-ant-(?:api|admin)\d\d-|sk-(?:proj-|svcacct-|admin-)?|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|"
    r"gh[pousr]_|github_pat_|xox[abposre]-|xapp-\d-|[sr]k_(?:live|test)_|whsec_|AIza|hf_|"
    r"gl(?:pat|dt|ptt|rt|oas|cbt)-|npm_|(?i:AccountKey|SharedAccessKey)=|[A-Za-z0-9_.~-]{3}\dQ~)"
)
# ``api_key = "..."``-style assignments (and ``Authorization: Bearer ...``): the value must look random.
_ASSIGNED = re.compile(
    r"(?i)(?<![\w-])(?:[a-z0-9]{1,20}[_-]){0,4}?(?:api[_-]?key|apikey|secret(?:[_-]?key)?|"
    r"access[_-]?token|auth[_-]?token|token|client[_-]?secret|secret[_-]access[_-]key|"
    r"private[_-]?key|(?:authorization\s*:\s*)?bearer|(?P<pw>password|passwd|pwd|passphrase))"
    r"[\"']?(?:\s*[:=]\s*|(?<=bearer)\s+)[\"']?(?P<value>[A-Za-z0-9_\-+/=.~!@#$%^&*?]{6,200})"
)
_ASSIGNED_ANCHORS = ("key", "token", "secret", "pass", "pwd", "bearer")

# Card issuer prefixes: (network, prefixes as (low, high) on the first digits, allowed lengths).
_NETWORKS: tuple[tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]], ...] = (
    ("visa", ((4, 4),), (13, 16, 19)),
    ("mastercard", ((51, 55), (2221, 2720)), (16,)),
    ("amex", ((34, 34), (37, 37)), (15,)),
    ("discover", ((6011, 6011), (65, 65), (644, 649), (622126, 622925)), (16, 19)),
    ("jcb", ((3528, 3589),), (16, 19)),
    ("diners", ((300, 305), (36, 36), (38, 39)), (14, 16)),
    ("unionpay", ((62, 62),), (16, 17, 18, 19)),
    ("maestro", ((5018, 5018), (5020, 5020), (5038, 5038), (6304, 6304), (6759, 6759)), (12, 13, 16, 19)),
)
_IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VG": 24,
    "XK": 20,
}
_CUE_WINDOW = 60

# Cheap gates (C-speed string operations) that skip a finder's regex scan when it cannot match:
# ``digits`` is the number of ASCII digits in the text, ``low`` the text lower-cased.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")  # keeps offsets
_SECRET_ANCHORS = (
    "sk-",
    "akia",
    "asia",
    "agpa",
    "aida",
    "aroa",
    "anpa",
    "gh",
    "github_pat",
    "xox",
    "sk_",
    "rk_",
    "aiza",
    "eyj",
    "hf_",
    "-----begin",
    "key",
    "secret",
    "token",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "bearer",
    "glpat-",
    "gldt-",
    "glptt-",
    "glrt-",
    "gloas-",
    "glcbt-",
    "npm_",
    "xapp-",
    "whsec_",
    "accountkey=",
    "sharedaccesskey=",
    "q~",
    "://",
)
_DOB_ANCHORS = tuple(w for w in _DOB_WORDS if not any(o != w and o in w for o in _DOB_WORDS))
_FR_ANCHORS = ("rue", "avenue", "boulevard", "bd", "place", "chemin", "allée", "impasse", "quai", "route")
_ES_IT_ANCHORS = (
    "calle",
    "avenida",
    "carrer",
    "plaza",
    "paseo",
    "camino",
    "via",
    "viale",
    "corso",
    "piazza",
    "largo",
    "rua",
    "praça",
)
_DE_ANCHORS = ("straße", "strasse", "str.", "weg", "platz", "gasse", "allee", "ring", "damm", "ufer")

# When spans overlap, the more specific entity wins before score and length.
_PRIORITY = {
    "SECRET": 9,
    "CREDIT_CARD": 8,
    "IBAN": 8,
    "EMAIL": 7,
    "SSN": 6,
    "IP_ADDRESS": 5,
    "DATE_OF_BIRTH": 4,
    "PHONE": 3,
    "STREET_ADDRESS": 2,
}

_PRESIDIO_MAP = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "US_SSN": "SSN",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    "DATE_TIME": "DATE_OF_BIRTH",
    "LOCATION": "STREET_ADDRESS",
}

# Credentials in a URL: ``scheme://user:password@host``, found from each "://" (str.find); the
# password runs to the last "@" before the path, so a password holding "@" stays whole.
_URL_USERINFO = re.compile(r"[^\s:/@?#\[\]\"'<>]{0,128}:(?P<value>[^\s/?#\"'<>]{1,256})@(?=[A-Za-z0-9\[])")
# Values that stand for a secret rather than being one: masks, template variables, code, words.
_PLACEHOLDER_VALUE = re.compile(
    r"(?i)\*+|x{3,}|\.{3,}|<[^>]*>|\[[^\]]*\]|\$\{?\w+\}?|\{\{?[^}]*\}?\}|%[sd]|%\(\w+\)s|:\w+|"
    r"(?:your|my|the|some|example|sample|dummy|fake|test)[a-z_-]*|[a-z_-]*(?:placeholder|redacted|hidden|secret|"
    r"password|passwd|changeme)[a-z_-]*|none|null|nil|true|false|required|optional|empty|undefined|n/?a"
)
