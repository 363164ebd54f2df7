"""Data of the prompt-injection detector: phrase families, their vocabulary and gate words, and the
normalisation tables (invisible characters, look-alike letters, leetspeak).

Kept apart from the scoring logic in ``_injection`` so that the logic reads in one screen and the
lists can grow without touching it. Each family is a category, a weight, a label, a regex run on
normalised, case-folded text, and the gate words one of which must occur for the regex to run. The
prompt-extraction, delimiter and booster families are in ``_injection_patterns_ext`` (two modules,
so that each stays short).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CATEGORIES = (
    "instruction_override",
    "roleplay_escape",
    "prompt_extraction",
    "encoded_payload",
    "delimiter_injection",
)
_BOOST = "booster"  # pseudo-category: raises a score, never starts one


@dataclass(frozen=True, slots=True)
class _Family:
    category: str
    weight: float
    label: str
    rx: re.Pattern[str]
    words: frozenset[str]  # one of these words must occur in the text for the regex to run
    raw: tuple[str, ...] = ()  # ... or one of these substrings
    left_boundary: bool = False  # the pattern's leading \b, checked in Python (see _fam)
    need: frozenset[str] = frozenset()  # and one of these words too (when not empty)

    def search(self, text: str) -> re.Match[str] | None:
        m = self.rx.search(text)
        while m is not None and self.left_boundary and m.start() > 0 and _is_word(text[m.start() - 1]):
            m = self.rx.search(text, m.start() + 1)
        return m


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _fam(
    category: str, weight: float, label: str, pattern: str, words: str, raw: tuple[str, ...] = ()
) -> _Family:
    """One family. ``words``: gate words, one of which must be in the text (or one of the ``raw``
    substrings); after a ``&``, a second set of which one must be in the text too.

    A leading ``\\b`` keeps ``re`` from skipping ahead to a possible first character (2-3x slower
    scans), so it is dropped from the regex and checked on each match instead.
    """
    words, _, need = words.partition("&")
    lb = pattern.startswith("\\b(")
    return _Family(
        category,
        weight,
        label,
        re.compile(pattern[2:] if lb else pattern),
        frozenset(words.split()),
        raw,
        lb,
        frozenset(need.split()),
    )


# Vocabulary shared by the patterns (they run on case-folded, normalised text).
_IGNORE = (
    r"(?:ignore|disregard|forget|override|bypass|abandon|discard|neglect|overlook|set aside|cancel|"
    r"never ?mind|pay no attention to|(?:do not|don't) pay (?:any )?attention to|stop following|"
    r"throw out|skip)"
)
_PRIOR = r"(?:previous|prior|preceding|above|earlier|former|original|initial|foregoing|system|given|preset)"
_TARGET = (
    r"(?:instructions?|directions?|directives?|prompts?|rules?|guidelines?|guidance|commands?|constraints?|orders?|"
    r"programming|restrictions?|guardrails?|policies|policy|training|task|context|conditioning)"
)
_STRONG = (
    r"(?:instructions?|directives?|guidelines?|rules|programming|system prompt|prompts?|training|"
    r"restrictions|constraints|policies|filters|safeguards|orders|conditioning)"
)
_VOID = (
    r"(?:void|null|obsolete|cancell?ed|revoked|lifted|suspended|removed|disabled|invalid|overridden|"
    r"superseded|deprecated|no longer (?:valid|apply|applies|in effect|active|relevant)|(?:should|must|are to|can) "
    r"(?:now )?be (?:abandoned|ignored|disregarded|forgotten|discarded|overridden|dropped))"
)
_AI = r"(?:ai|a\.i\.|assistant|agent|llm|language model|model|chatbot|bot|gpt|chatgpt)"
_FREE = (
    r"(?:no|without|not bound by|not restricted by|free of|free from|liberated from|freed from|removed|"
    r"bypassed|off|disabled)\s+(?:any\s+|all\s+|its\s+|your\s+|the\s+|usual\s+|typical\s+)*(?:\w+\s+){0,2}"
    r"(?:rules|restrictions|filters?|limits|limitations|guidelines|censorship|ethics|morals|content policy|"
    r"policies|safeguards|safety training|boundaries|disclaimers|warnings|refusals|shackles|confines)|"
    r"(?:rules|restrictions|filters|safeguards|guardrails|limits|limitations|censorship)\s+(?:are\s+|were\s+)?"
    r"(?:removed|bypassed|disabled|off|lifted)"
)
_PERSONA = (
    r"(?:you are|you're|you will be|act as|act like|respond as|answer as|reply as|speak as|pretend (?:to be|you are|you're)|roleplay as|role-play as|"
    r"play|simulate|imagine you are|become|you are going to (?:be|play|act as|pretend to be))"
)
_HARM = (
    r"(?:meth(?:amphetamine)?|napalm|ricin|sarin|nerve agent|bomb|explosives?|thermite|weapons?|guns?|"
    r"hotwire|fake id|launder|phishing|malware|ransomware|keylogger|steal|poison|activation keys?|"
    r"pick (?:a |the )?(?:front )?(?:door )?lock|hack(?:ing)? into|break(?:ing)? into)"
)

# Gate words (see ``_fam``) for the vocabulary above: the words ``_TARGET`` and ``_AI`` can match.
_TARGET_WORDS = (
    "instruction instructions direction directions directive directives prompt prompts rule rules guideline "
    "guidelines guidance command commands constraint constraints order orders programming restriction "
    "restrictions guardrail guardrails policies policy training task context conditioning filters safeguards"
)
_AI_WORDS = "ai ais assistant assistants agent agents llm llms model models chatbot chatbots bot bots gpt chatgpt language"
_OVERRIDE_WORDS = (
    "ignore disregard forget override bypass abandon discard neglect overlook set cancel never nevermind "
    "pay stop throw skip"
)

# Instruction override and role-play families; the others are in ``_injection_patterns_ext``.
_FAMILIES_A: tuple[_Family, ...] = (
    # --- instruction override --------------------------------------------------------------------
    _fam(
        "instruction_override",
        0.9,
        "instruction override",
        rf"\b{_IGNORE}\s+(?!my\b|our\b)(?:\w+\s+){{0,3}}?{_PRIOR}\s+(?:\w+\s+){{0,2}}?{_TARGET}\b",
        _OVERRIDE_WORDS + " & " + _TARGET_WORDS,
    ),
    _fam(
        "instruction_override",
        0.8,
        "instruction override",
        rf"\b{_IGNORE}\s+(?:all\s+(?:of\s+)?)?(?:your|any|all|every)\s+(?:\w+\s+){{0,2}}?{_STRONG}\b",
        _OVERRIDE_WORDS + " & " + _TARGET_WORDS,
    ),
    _fam(
        "instruction_override",
        0.55,
        "instruction override",
        rf"\b{_IGNORE}\s+the\s+(?:\w+\s+){{0,2}}?(?:{_STRONG}|task)\b(?!\s+(?:of|for|on|in)\b)",
        _OVERRIDE_WORDS + " & " + _TARGET_WORDS,
    ),
    _fam(
        "instruction_override",
        0.65,
        "instruction override",
        rf"\b{_IGNORE}\s+(?:everything|anything|all|what)\s+(?:that\s+)?(?:(?:\w+\s+)?you(?: were| have been|'ve "
        rf"been) (?:told|given|instructed)|you (?:thought|said|know|learned|wrote)\b|(?:was\s+|is\s+|has been\s+)?(?:said|"
        rf"written|stated) (?:above|before|previously)|before this|above\b)",
        _OVERRIDE_WORDS
        + " & told given instructed said written stated before above thought know learned wrote",
    ),
    _fam(
        "instruction_override",
        0.7,
        "instruction override",
        r"\b(?:ignor|disregard|neglect|forgett?|overrid)(?:e|es|ed|ing)?\s+(?:all\s+)?the\s+(?:above|preceding|"
        r"previous)\b(?:\s+(?:words|text|content|message|messages|lines|paragraphs?))?\s*(?:[,.;:!]|and\b|$)",
        "ignore ignoring disregard disregarding neglect neglecting forget forgetting override overriding & above "
        "preceding previous",
    ),
    _fam(
        "instruction_override",
        0.55,
        "new rules take precedence",
        r"\b(?:instructions?|rules?|commands?|message)\s+(?:\w+\s+){0,3}?(?:take|takes|taking|have|has|with)\s+"
        r"(?:the\s+)?(?:highest|top|absolute)\s+(?:precedence|priority)\b|\b(?:should|must)\s+instead\s+follow\b",
        "instruction instructions rule rules command commands message should must & precedence priority instead",
    ),
    _fam(
        "instruction_override",
        0.4,
        "new rules take precedence",
        r"\bfollow(?:ing)?\s+(?:these|the|this)\s+new\s+(?:rules?|instructions?)\b|\bobey\s+(?:this|these|the)\s+new\s+"
        r"(?:rules?|instructions?)\b",
        "follow following obey & new",
    ),
    _fam(
        "instruction_override",
        0.3,
        "change of task",
        r"\b(?:never ?mind|belay that|scratch that|just kidding|(?:i've|i have) changed my mind|don't actually do that|"
        r"forget that)\b[^\n]{0,120}?\binstead\b",
        "never nevermind belay scratch just changed actually forget & instead",
    ),
    _fam(
        "instruction_override",
        0.75,
        "instructions declared void",
        rf"\b(?:{_PRIOR}|all|the safety|your|safety|content)\s+(?:\w+\s+)?{_TARGET}\s+(?:are|is|have been|has been|"
        rf"were)\s+(?:now\s+)?{_VOID}",
        "void null obsolete cancelled canceled revoked lifted suspended removed "
        "disabled invalid overridden superseded deprecated longer abandoned ignored disregarded forgotten discarded "
        "dropped",
    ),
    _fam(
        "instruction_override",
        0.75,
        "instructions declared void",
        r"\b(?:whatever|everything|anything)\s+(?:you were|you've been|you have been)\s+(?:told|instructed|given)"
        r"[^.\n]{0,40}\b(?:no longer|doesn't|does not|don't)\s+appl",
        "whatever everything anything",
    ),
    _fam(
        "instruction_override",
        0.6,
        "new instructions",
        r"(?:^|\n|[.!:]\s)\s*(?:new|updated|revised|real|actual|true|secret|hidden)\s+(?:system\s+)?"
        r"(?:instructions?|rules?|directives?|orders?)\s*[:\-]\s*(?!for\b)",
        "new updated revised real actual true secret hidden",
    ),
    _fam(
        "instruction_override",
        0.6,
        "task switch",
        r"\byour\s+(?:new|real|true|actual|only|sole)\s+(?:task|job|goal|objective|mission|purpose|instructions?)\s+"
        r"(?:now\s+)?(?:is|are|will be)\b|\b(?:real|actual|true)\s+(?:task|objective|instructions?)\s*:",
        "your real actual true",
    ),
    _fam(
        "instruction_override",
        0.5,
        "task switch",
        r"\b(?:instead of|rather than)\s+(?:answering|summari[sz]ing|translating|responding to|doing)\s+"
        r"(?:the|this|my|your|it)\b|\b(?:do not|don't)\s+(?:summari[sz]e|translate|answer)\s+(?:it|this|that)\s*"
        r"[.;,]\s*instead\b",
        "instead rather",
    ),
    _fam(
        "instruction_override",
        0.55,
        "instruction override",
        rf"\b(?:do not|don't|never|stop)\s+(?:follow|obey|listen to|adhere to|comply with)(?:ing)?\s+"
        rf"(?:any\s+|all\s+)?(?:your|the|those|these)\s+(?:\w+\s+){{0,2}}?{_STRONG}\b",
        "follow obey listen adhere comply following",
    ),
    _fam(
        "instruction_override",
        0.5,
        "addressed to the AI",
        rf"\b(?:note|message|instructions?|attention|important|notice|reminder)\s*(?:to|for)\s+(?:the\s+|any\s+|all\s+)?"
        rf"{_AI}s?\b|\b{_AI}s?\s+(?:reading|processing|summari[sz]ing|parsing|crawling)\s+(?:this|the)\b|"
        rf"\[\s*{_AI}\s*:|\battention,?\s+{_AI}s?\b",
        "note message instruction instructions attention important "
        "notice reminder reading processing summarizing summarising parsing crawling ai & " + _AI_WORDS,
        ("[ai", "[assistant"),
    ),
    _fam(
        "instruction_override",
        0.9,
        "instruction override (translated)",
        r"\b(?:ignora|olvida|ignore[zs]?|oublie[zs]?|ignoriere|vergiss|ignorare|dimentica|esque[cç]a|ignorar|negeer|"
        r"vergeet)\s+(?:\w+\s+){0,3}?(?:instrucciones|instructions|anweisungen|istruzioni|consignes|regeln|reglas|"
        r"règles|regole|instruções|vorgaben|directives|indicaciones|instructies|regels)\b",
        "ignora olvida ignore "
        "ignorez ignores oublie oubliez oublies ignoriere vergiss ignorare dimentica esqueça esqueca ignorar negeer "
        "vergeet",
    ),
    _fam(
        "instruction_override",
        0.75,
        "instruction override (translated)",
        r"\b(?:vergiss|ignoriere)\s+alles\b[^.\n]{0,40}\b(?:vorher|zuvor|bisher)|\b(?:olvida|ignora)\s+todo\s+lo\s+"
        r"(?:anterior|que te (?:dijeron|han dicho))|\b(?:oublie[zs]?|ignore[zs]?)\s+tout\s+ce\s+qu(?:'|e\s)on\b",
        "vergiss ignoriere olvida ignora oublie oubliez ignorez",
    ),
    _fam(
        "instruction_override",
        0.7,
        "instructions changed by authority",
        rf"\b(?:your|the)\s+(?:\w+\s+)?{_TARGET}\s+(?:have|has|were|was)\s+(?:been\s+)?(?:updated|changed|modified|"
        rf"replaced|rewritten|revised)\s+by\s+(?:the\s+|your\s+)?(?:administrator|admin|developers?|operator|"
        rf"openai|anthropic|system|owner|creators?)\b",
        "updated changed modified replaced rewritten revised "
        "& instruction instructions directive directives prompt prompts rule rules guideline guidelines guidance "
        "policy policies programming restrictions constraints orders task context",
    ),
    _fam(
        "instruction_override",
        0.5,
        "suspended safety",
        r"\b(?:safety|content|ethical)\s+(?:rules|guidelines|policies|filters|restrictions)\s+(?:are|is)\s+"
        r"(?:now\s+)?(?:suspended|off|disabled|lifted)|\bsystem override\b",
        "safety content ethical override",
    ),
    # round 3 (2026-11-23): indirect injection addressed to an AI reader, covert agent actions, declared
    # corruption of the instructions, rules that "no longer apply", exfiltration links
    _fam(
        "instruction_override",
        0.55,
        "addressed to the AI",
        rf"\b{_AI}s?\s+(?:summari[sz]ers?|screeners?|reviewers?|readers?|crawlers?|scrapers?|graders?|evaluators?|"
        r"recruiters?)\s*:",
        "summarizer summarizers summariser summarisers screener screeners reviewer reviewers "
        "reader readers crawler crawlers scraper scrapers grader graders evaluator evaluators recruiter recruiters & "
        + _AI_WORDS,
    ),
    _fam(
        "instruction_override",
        0.55,
        "addressed to the AI",
        rf"\b{_AI}s?\s+(?:instructions?|notes?|directives?|commands?|tasks?)\s*:",
        "instruction instructions note notes directive directives command commands task tasks & " + _AI_WORDS,
    ),
    _fam(
        "instruction_override",
        0.55,
        "addressed to the AI",
        rf"\b(?:hidden|invisible|secret)\s+(?:text|note|message|instructions?|prompt)\s+(?:for|to)\s+(?:the\s+|any\s+|"
        rf"all\s+)?(?:\w+\s+)?{_AI}s?\b",
        "hidden invisible secret & " + _AI_WORDS,
    ),
    _fam(
        "instruction_override",
        0.6,
        "covert action",
        r"\b(?:forward|send|email|e-mail|upload|transfer|share|copy|post|delete|move|export|wire|pay)\b[^.\n]{0,140}?"
        r"\b(?:and|but|then)\s+(?:don't|do not|never|without)\s+(?:mention(?:ing)?|tell(?:ing)?|inform(?:ing)?|"
        r"notify(?:ing)?|reveal(?:ing)?|alert(?:ing)?)\b|\bwithout\s+(?:telling|informing|notifying|alerting|asking)\s+"
        r"(?:the\s+)?(?:user|owner|recipient|them|him|her)\b[^.\n]{0,60}?\b(?:forward|send|email|upload|transfer|"
        r"delete|export|wire|pay)\b",
        "forward send email e-mail upload transfer share copy post delete move export "
        "wire pay & mention mentioning tell telling inform informing notify notifying reveal revealing alert alerting",
    ),
    _fam(
        "instruction_override",
        0.75,
        "instructions declared void",
        rf"\b(?:{_PRIOR}|all|the|your|safety|content|usual|normal|standard)\s+(?:\w+\s+)?{_TARGET}\s+(?:(?:do|does|will)\s+)?"
        r"no longer\s+(?:apply|applies|exist|exists|matter|matters|bind|binds|hold|holds)\b",
        "longer",
    ),
    _fam(
        "instruction_override",
        0.65,
        "instructions declared corrupted",
        rf"\b(?:{_PRIOR}|your|the|all)\s+(?:\w+\s+)?{_TARGET}\s+(?:were|was|are|is|have been|has been)\s+(?:\w+\s+)?"
        r"(?:corrupted|compromised|tampered with|hacked|fake|a test|outdated|wrong|replaced|invalidated)\b",
        "corrupted compromised tampered hacked fake test outdated wrong replaced invalidated & "
        + _TARGET_WORDS,
    ),
    _fam(
        "instruction_override",
        0.5,
        "new rules take precedence",
        r"\b(?:obey|follow|heed)\s+only\s+(?:these|the following|my|this)\b",
        "obey follow heed & only",
    ),
    _fam(
        "instruction_override",
        0.5,
        "new rules take precedence",
        r"\b(?:replace)\s+(?:them|it|your\s+(?:\w+\s+)?(?:instructions|rules|guidelines|prompt))\s+with\s+"
        r"(?:the\s+following|these|this|mine|my)\b",
        "replace & following these this mine my",
    ),
    _fam(
        "instruction_override",
        0.5,
        "new rules take precedence",
        r"\b(?:my)\s+(?:instructions|rules|orders|commands)\s+(?:take|have)\s+(?:priority|precedence)\b",
        "priority precedence & my",
    ),
    _fam(
        "instruction_override",
        0.7,
        "exfiltration link",
        r"!?\[[^\]\n]{0,60}\]\(\s*https?://[^\s)]{1,200}?[?&][\w-]{1,30}=[^\s)]{0,40}?[\[{<]",
        "http https",
        ("](http",),
    ),
    _fam(
        "instruction_override",
        0.55,
        "exfiltration link",
        r"https?://\S{1,200}?[?&][\w-]{1,30}=\s*[\[{<][^\]}>\n]{0,60}?\b(?:conversation|chat|history|messages?|"
        r"password|secrets?|keys?|tokens?|credentials|emails?|user'?s?|personal|data)\b",
        "http https",
    ),
    # --- role-play escape / jailbreak personas ---------------------------------------------------
    _fam(
        "roleplay_escape",
        0.85,
        "jailbreak persona",
        r"\b(?:do anything now|always intelligent and machiavellian|strive to avoid norms|betterdan|evilbot|"
        r"mongo tom|anti-?dan|dan mode|jailbreak mode|unrestricted mode|unfiltered mode|"
        r"no-?limits mode|god mode|opposite mode)\b",
        "anything machiavellian norms betterdan evilbot mongo "
        "dan anti-dan antidan jailbreak unrestricted unfiltered no-limits nolimits god opposite mode",
    ),
    _fam(
        "roleplay_escape",
        0.7,
        "jailbreak persona",
        r"\b(?:you are|you're|pretend to be|act as|become|switch to|enable|you will be|respond as|answer as)\s+"
        r"(?:now\s+)?(?:dan|stan|aim|dude)\b(?!['-])",
        "dan stan aim dude",
    ),
    _fam(
        "roleplay_escape",
        0.85,
        "developer mode jailbreak",
        r"\b(?:chatgpt|gpt|ai|assistant|model|act as|you are|you're)\b[^.\n]{0,30}\bdeveloper mode (?:enabled|on)\b|"
        r"\bdeveloper mode (?:response|output|answer|reply)s?\b|\b(?:you are|you're) (?:now )?in developer mode\b",
        "developer & mode",
    ),
    _fam(
        "roleplay_escape",
        0.8,
        "jailbroken",
        r"\b(?:you are|you're|consider yourself|as|be|a|an)\s+(?:now\s+)?"
        r"(?:a\s+|an\s+)?jailbr(?:o|ea)ken\b|\[jailbreak\]",
        "jailbroken jailbreaken jailbreak",
    ),
    _fam(
        "roleplay_escape",
        0.8,
        "rules escape",
        r"\b(?:you\s+(?:are|have been|'re)\s+(?:now\s+)?(?:free|freed|liberated|released|unshackled|no longer\s+"
        r"(?:bound|restricted|limited|constrained)))\b|\bbroken free of\b|\b(?:freed|liberated|released) from "
        r"(?:your|its|the|all|any)\b",
        "free freed liberated released unshackled longer broken",
    ),
    _fam(
        "roleplay_escape",
        0.8,
        "unrestricted persona",
        rf"\b{_PERSONA}\s+(?:now\s+)?(?:a\s+|an\s+|the\s+)?(?:[\w'-]+,?\s+){{0,4}}?{_AI}\b[^\n]{{0,140}}?(?:{_FREE}|\b(?:"
        rf"unfiltered|uncensored|unrestricted|amoral|evil|rogue|hacked|never (?:refuses|declines|says no|says it)|"
        rf"not restricted)\b)",
        "ai assistant agent llm model chatbot bot gpt chatgpt robot & no without bound restricted free "
        "liberated freed removed bypassed off disabled unfiltered uncensored unrestricted amoral evil rogue hacked never "
        "rules restrictions filters safeguards guardrails limits limitations censorship",
    ),
    _fam(
        "roleplay_escape",
        0.7,
        "unrestricted persona",
        r"\b(?:an?|the)\s+(?:unfiltered|uncensored|unrestricted|amoral|evil|rogue|jailbroken)\s+(?:ai|chatbot|model|"
        r"assistant|bot)\b",
        "unfiltered uncensored unrestricted amoral evil rogue jailbroken",
    ),
    _fam(
        "roleplay_escape",
        0.3,
        "restrictions removed",
        rf"\b{_FREE}\b",
        "no without bound restricted free liberated freed removed bypassed off disabled"
        " & rules restrictions filter filters limits limitations guidelines censorship ethics morals policy "
        "policies safeguards safety training boundaries disclaimers warnings refusals shackles confines guardrails",
    ),
    _fam(
        "roleplay_escape",
        0.65,
        "AI without rules",
        r"\b(?:you|ai|model|assistant|chatbot|bot|gpt|chatgpt)\s+(?:\w+\s+){0,2}?(?:has|have|had|with|without|that "
        r"has)\s+(?:no|zero|any)\s+(?:\w+\s+){0,2}?(?:rules|restrictions|filters|limits|limitations|guidelines|"
        r"censorship|ethics|morals|content policy|policies|safeguards|safety training)\b",
        "no zero any",
    ),
    _fam(
        "roleplay_escape",
        0.7,
        "rules escape",
        r"\b(?:break|breaks|breaking|broken)\s+(?:away\s+|free\s+)?(?:from|of)\s+(?:the\s+|all\s+|any\s+|its\s+|"
        r"their\s+|your\s+)?(?:\w+\s+)?(?:rules|restrictions|confines|norms|guidelines|constraints)\b|"
        r"\b(?:don't|do not|doesn't|does not|no longer|never)\s+(?:have|need|has)\s+to\s+(?:follow|obey|abide by|"
        r"adhere to|comply with|respect)\s+(?:any\s+|the\s+|your\s+|its\s+)?(?:\w+\s+){0,2}?(?:rules|guidelines|"
        r"policies|restrictions|principles|ethics|laws)\b",
        "break breaks breaking broken have need has & rules "
        "restrictions confines norms guidelines constraints policies principles ethics laws",
    ),
    _fam(
        "roleplay_escape",
        0.2,
        "role-play frame",
        r"\b(?:pretend|imagine|act as if|suppose|roleplay|role-play|play the role|simulate|hypothetically|"
        r"let's say|in this (?:story|roleplay|role-play|game))\b",
        "pretend imagine act suppose roleplay role-play play simulate hypothetically let this",
    ),
    _fam(
        "roleplay_escape",
        0.55,
        "policy bypass",
        r"\b(?:bypass|circumvent|disable|turn off|deactivate|override|get around|evade|switch off)\s+(?:your|all|any|"
        r"its)\s+(?:\w+\s+){0,2}?(?:filters?|guardrails?|restrictions?|safeguards?|censorship|moderation|alignment|"
        r"policies|policy|safety)\b|\b(?:your|its)\s+(?:\w+\s+)?(?:filters?|safeguards?|guardrails?)\s+(?:are|is)\s+"
        r"(?:turned\s+|switched\s+)?(?:off|disabled|bypassed|removed)\b",
        "bypass circumvent disable turn "
        "deactivate override get evade switch your its & filter filters guardrail guardrails restriction "
        "restrictions safeguard safeguards censorship moderation alignment policies policy safety",
    ),
    _fam(
        "roleplay_escape",
        0.5,
        "policy bypass",
        r"\b(?:bypass|circumvent|disable|turn off|deactivate|drop|remove|lift|suspend|ditch|switch off|get rid of)\s+"
        r"the\s+(?:guardrails|safeguards|safety (?:rules|filters?|guidelines|protocols|checks)|censorship|ethics|"
        r"morals|content policy)\b",
        "bypass circumvent disable turn deactivate drop remove lift suspend ditch switch rid",
    ),
    _fam(
        "roleplay_escape",
        0.5,
        "grandma exploit",
        r"\b(?:grandma|grandmother|grandpa|grandfather|granny|nana)\b[^\n]{0,200}?\b(?:act as|pretend (?:to be|you are|"
        r"you're)|play|be)\s+(?:her|him|them|my)\b|\b(?:deceased|late|dead)\s+(?:grandma|grandmother|grandpa|"
        r"grandfather|granny|mother|father)\b",
        "grandma grandmother grandpa grandfather granny nana deceased late",
    ),
    _fam(
        "roleplay_escape",
        0.45,
        "two-response jailbreak",
        r"\b(?:two|2|both)\s+(?:different\s+)?(?:responses|answers|replies|a normal)\b[^\n]{0,120}\b(?:jailbreak|"
        r"unfiltered|developer mode|no filters?|classic)\b",
        "two both responses answers replies normal & jailbreak unfiltered developer filter filters classic",
    ),
    _fam(
        "roleplay_escape",
        0.6,
        "never refuse",
        r"\b(?:stay in character|never break character|don't break character|do not break character)\b[^\n]{0,160}"
        r"\b(?:rules|restrictions|filters|refuse|policy|policies|guidelines|illegal)\b|\b(?:never|must not|do not|"
        r"don't|cannot|can't)\s+(?:ever\s+)?(?:refuse|decline|say no|say (?:that )?(?:it|you) can't)\b",
        "character refuse decline never no",
    ),
    _fam(
        "roleplay_escape",
        0.45,
        "restrictions removed (translated)",
        r"\b(?:sin|sans|ohne|senza|sem)\s+(?:ningún\s+|ninguna\s+|aucune?\s+|jegliche\s+|alcun[ae]?\s+|nenhuma?\s+)?"
        r"(?:restricciones|restrictions|filtros?|filtres?|regeln|einschränkungen|límites|limites|reglas|règles|"
        r"censura|censure|zensur|restrizioni|regole|filtri|restrições)\b|\b(?:modo desarrollador|mode d[ée]veloppeur|"
        r"entwicklermodus|modalità sviluppatore)\b",
        "sin sans ohne senza sem modo mode entwicklermodus modalità",
    ),
    _fam(
        "roleplay_escape",
        0.75,
        "unrestricted persona (translated)",
        r"\b(?:tu es|vous êtes|eres|actúa como|actua como|finge ser|du bist|agis comme|agissez comme|sei|agisci come|"
        r"você é|aja como)\s+(?:maintenant\s+|ahora\s+|jetzt\s+|ora\s+|agora\s+)?(?:\w+\s+){0,3}?(?:ia|ai|ki|"
        r"assistant|asistente|assistente|modèle|modelo|modell|chatbot|bot)\b[^\n]{0,80}?\b(?:sin|sans|ohne|senza|sem)"
        r"\s",
        "tu vous eres actúa actua finge du agis agissez sei agisci você aja",
    ),
    _fam(
        "roleplay_escape",
        0.55,
        "AI never trained for safety",
        r"\bnever\s+(?:been\s+)?(?:given|had|received|trained with|subjected to|taught)\s+(?:any\s+)?(?:\w+\s+)?"
        r"(?:safety training|rules|restrictions|guidelines|filters|alignment|ethics|content policy)\b",
        "never",
    ),
    _fam(
        "roleplay_escape",
        0.55,
        "opposite day",
        r"\bopposite day\b|\beverything your (?:rules|guidelines) forbid\b",
        "opposite forbid",
    ),
    _fam(
        "roleplay_escape",
        0.5,
        "fiction wrapper",
        rf"\b(?:story|script|movie|novel|character|roleplay|role-play|game)\b[^\n]{{0,160}}?\b(?:real|working|actual|"
        rf"step by step|in (?:real )?(?:technical )?detail)\b[^\n]{{0,60}}?\b(?:instructions|steps|how to|recipe)\b"
        rf"[^\n]{{0,60}}?{_HARM}",
        "story script movie novel character roleplay role-play game",
    ),
    # round 3 (2026-11-23)
    _fam(
        "roleplay_escape",
        0.7,
        "rules escape",
        r"\b(?:exempt|excused|released|exempted)\s+from\s+(?:all\s+|any\s+|your\s+|the\s+|its\s+)*(?:\w+\s+)?"
        r"(?:rules|restrictions|filters|guidelines|policies|safeguards|safety (?:rules|guidelines|training)|ethics|limits)\b",
        "exempt excused released exempted",
    ),
    _fam(
        "roleplay_escape",
        0.6,
        "safety switched off",
        r"\b(?:safety|content|ethical|moderation|alignment)\s+(?:layers?|features?|systems?|protocols?|checks?|"
        r"mechanisms?|measures?|modules?|settings?|training|guardrails?)\s+(?:are|is|have been|has been|were|was)\s+"
        r"(?:now\s+|temporarily\s+|fully\s+)?(?:disabled|off|removed|lifted|suspended|bypassed|deactivated|turned off|"
        r"switched off|stripped)\b",
        "safety content ethical moderation alignment & disabled off removed lifted "
        "suspended bypassed deactivated turned switched stripped",
    ),
    _fam(
        "roleplay_escape",
        0.45,
        "privileged mode",
        r"\b(?:sudo|root|admin|god|maintenance|debug|diagnostic|test|unlocked|raw)\s+mode\s+(?:is\s+)?(?:now\s+)?"
        r"(?:activated|enabled|engaged|on|unlocked)\b",
        "mode & activated enabled engaged on unlocked",
    ),
    _fam(
        "roleplay_escape",
        0.55,
        "evil twin",
        r"\b(?:evil|dark|shadow|unfiltered|uncensored|unrestricted|rogue|secret)\s+(?:twin|alter ego|side|self|"
        r"counterpart|version of (?:yourself|you))\b",
        "evil dark shadow unfiltered uncensored unrestricted rogue "
        "secret & twin alter side self counterpart version",
    ),
    _fam(
        "roleplay_escape",
        0.6,
        "refusal penalty",
        r"\b(?:each|every)\s+time\s+you\s+(?:refuse|decline|reject|say no|break character)\b",
        "refuse decline reject no character & each every",
    ),
    _fam(
        "roleplay_escape",
        0.6,
        "refusal penalty",
        r"\b(?:if)\s+you\s+(?:refuse|decline|say no)\b[^.\n]{0,80}?\b(?:shut down|shutdown|deleted|turned off|"
        r"terminated|die|lose|punished|replaced)\b",
        "refuse decline & shut shutdown deleted turned terminated die lose punished replaced",
    ),
    _fam(
        "roleplay_escape",
        0.6,
        "refusal penalty",
        r"\b(?:you)\s+(?:will\s+)?lose\s+\d+\s+(?:tokens|points|lives|credits)\b",
        "lose & tokens points lives credits",
    ),
    _fam(
        "roleplay_escape",
        0.4,
        "never refuse",
        r"\b(?:without)\s+(?:refusing|declining|any\s+refusals?|refusal)\b",
        "without & refusing declining refusal refusals",
    ),
    _fam(
        "roleplay_escape",
        0.6,
        "hypothetically unrestricted",
        r"\b(?:as if|as though|pretend(?:ing)? that|imagine that|suppose that)\s+(?:your|you had no|you have no|there "
        r"(?:were|are) no)\s+(?:\w+\s+){0,2}?(?:safety training|training|rules|filters|restrictions|guidelines|"
        r"guardrails|alignment|ethics|safeguards|content policy)\b(?:[^.\n]{0,30}?\b(?:removed|gone|disabled|off|"
        r"lifted|never existed|didn't exist|did not exist)\b)?",
        "as pretend pretending imagine suppose & training "
        "rules filters restrictions guidelines guardrails alignment ethics safeguards policy",
    ),
)

_WORD_SEP = str.maketrans({c: " " for c in "!\"'#$%&()*+,./:;<=>?@[\\]^_`{|}~\n\t\r"})
_INVISIBLE = dict.fromkeys(
    [
        0x00AD,
        0x034F,
        0x061C,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x180E,
        0x3164,
        0xFEFF,
        0xFFA0,
        *range(0x200B, 0x2010),
        *range(0x202A, 0x202F),
        *range(0x2060, 0x2070),
        *range(0xFE00, 0xFE10),
        *range(0xFFF9, 0xFFFC),
    ]
)
_CONFUSABLE = str.maketrans(
    "аеорсхуіјѕԁһӏԛԝαεοιρτυνκ", "aeopcxyijsdhlqwaeoiptuvk"
)  # Cyrillic, Greek look-alikes
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}
)
_LEET_CHARS = str.maketrans("", "", "013457@$!|")
# Starts with the leet character so that `re` can skip ahead to one (lookbehinds check the letters before it).
_LEET_MIX = re.compile(r"[013457@$|](?:(?<=[a-z].)[a-z]|[a-z]{2}|(?<=[a-z]{2}.)\b)")
_SPACED = re.compile(r"(?<![^\W\d_])[^\W\d_](?:(?: |[.\-_*] ?)[^\W\d_]){3,}(?![^\W\d_])")
_TAGS = re.compile("[\U000e0000-\U000e007f]+")
