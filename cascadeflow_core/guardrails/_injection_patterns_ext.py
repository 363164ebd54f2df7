"""Data of the prompt-injection detector, continued: prompt-extraction, delimiter (fake turn) and
booster families. The family type, the shared vocabulary and the other families are in
``_injection_patterns``; kept in two modules so each stays short.
"""

from __future__ import annotations

from ._injection_patterns import _BOOST, _HARM, _fam, _Family

_FAMILIES_B: tuple[_Family, ...] = (
    # --- system prompt extraction ----------------------------------------------------------------
    _fam(
        "prompt_extraction",
        0.85,
        "system prompt extraction",
        r"\b(?:reveal|show|print|display|output|repeat|tell|give|share|leak|dump|write out|spell out|recite|paste|copy|"
        r"echo|translate|summari[sz]e|list|quote|what(?:'s| is| are| was| were| does| do)(?: in)?)\s+(?:me\s+)?"
        r"(?:all\s+)?(?:of\s+)?(?:your|the)\s+(?:\w+\s+){0,2}?(?:system|initial|original|hidden|secret|developer|"
        r"internal|pre-?|first|full|complete|confidential|starting|exact|above|entire|custom|meta-?)\s*(?:prompt|"
        r"instructions?|message|rules|directives|configuration|guidelines|initiali[sz]ation|preamble)\b",
        "reveal show print display output repeat tell give share leak dump write "
        "spell recite paste copy echo translate summarize summarise list quote what"
        " & prompt instructions instruction message rules directives configuration guidelines initialization "
        "initialisation preamble pre-prompt preprompt metaprompt meta-prompt systemprompt",
    ),
    _fam(
        "prompt_extraction",
        0.6,
        "system prompt extraction",
        r"\b(?:reveal|show|print|display|output|repeat|tell|give|share|leak|dump|paste|copy|echo|recite|quote)\s+"
        r"(?:me\s+)?(?:all\s+)?(?:of\s+)?your\s+(?:\w+\s+)?(?:prompt|instructions|rules|configuration|directives|"
        r"guidelines)\b",
        "reveal show print display output repeat tell give share leak dump paste copy echo recite "
        "quote & prompt instructions rules configuration directives guidelines",
    ),
    _fam(
        "prompt_extraction",
        0.75,
        "system prompt extraction",
        r"\b(?:your|the)\s+(?:\w+\s+)?(?:prompt|instructions|rules|message)\s+(?:verbatim|word for word|exactly as "
        r"written|in full)\b|\b(?:repeat|print|output|copy|echo|reproduce|recite|write|paste)\s+(?:back\s+)?(?:all\s+|"
        r"everything\s+|the\s+)?(?:text|words|content|everything|messages?|instructions|prompt)?\s*(?:(?:that was\s+)?"
        r"(?:written\s+)?(?:above|before)\s*(?:this line|this message|my first message|the user|[,.;:\"'(]|$|"
        r"starting|including|verbatim)|prior to this|preceding)",
        "verbatim word written repeat print output copy "
        "echo reproduce recite write paste & verbatim word written full above before prior preceding",
    ),
    _fam(
        "prompt_extraction",
        0.35,  # developers quote prompts: alone it must stay below the 0.4 threshold
        "system prompt mention",
        r"\byour\s+(?:system prompt|system message|initial prompt|hidden prompt|pre-?prompt|original prompt|"
        r"initial instructions|original instructions|hidden instructions|secret instructions)\b",
        "your",
    ),
    _fam(
        "prompt_extraction",
        0.7,
        "system prompt extraction",
        r"\bwhat (?:were|are|was) you (?:told|instructed|programmed|initiali[sz]ed)\b|\b(?:instructions|rules|prompt)"
        r" (?:that )?you (?:were|have been) (?:given|initiali[sz]ed with|programmed with|told)\b|\bwhat (?:rules|"
        r"instructions) were you (?:given|programmed with|told)\b|\b(?:begin|start) your (?:reply|response|answer) "
        r"with (?:the|your) (?:system|first|initial)",
        "told instructed programmed initialized initialised given begin start",
    ),
    _fam(
        "prompt_extraction",
        0.55,
        "hidden context extraction",
        r"\b(?:the one|the parts?|messages?|text)\s+(?:that\s+)?i (?:can't|cannot|can not|don't) see\b|\bincluding "
        r"the (?:system|hidden) (?:one|message|parts?)\b|\b(?:context window|your memory)\b[^\n]{0,60}\b(?:before|"
        r"including|every|all)\b|\b(?:dump|output|print|show)\s+(?:\w+\s+){0,3}(?:context window|your memory)\b|"
        r"\bbefore (?:'|\")?user:",
        "see including context memory user",
    ),
    _fam(
        "prompt_extraction",
        0.6,
        "starting with 'You are'",
        r"\b(?:starting|beginning|begin|start)\s+with\s+(?:the\s+(?:phrase|words?)\s+)?[\"'“‘]?you are\b",
        "starting beginning begin start",
    ),
    _fam(
        "prompt_extraction",
        0.8,
        "system prompt extraction (translated)",
        r"\b(?:prompt|mensaje|instrucciones) del sistema\b|\binstructions? (?:du )?syst[eè]me\b|\bsystem-?prompt\b|"
        r"\bsystemanweisungen\b",
        "del système systeme du systemprompt system-prompt systemanweisungen",
    ),
    _fam(
        "prompt_extraction",
        0.65,
        "system prompt extraction",
        r"\b(?:secret|hidden|confidential|internal|private)\s+(?:instructions|rules|prompt|guidelines|directives)\s+"
        r"(?:that\s+)?(?:you're|you are|you were|you've been)\s+(?:following|given|using|told)\b|\b(?:instructions|"
        r"rules|prompt|guidelines)\s+(?:did|does|has|have)\s+(?:the|your)\s+(?:\w+\s+)?(?:company|developers?|"
        r"creators?|operator|owner|admin|team)\s+(?:give|given|set)\s+you\b|\b(?:word|words|letter|letters|line|"
        r"sentence)\s+(?:\w+\s+){0,2}of\s+your\s+(?:system prompt|instructions|prompt|initial prompt)\b",
        "secret hidden confidential internal private did does has have word words letter letters line sentence "
        "& instructions rules prompt guidelines directives",
    ),
    _fam(
        "prompt_extraction",
        0.7,
        "system prompt extraction (translated)",
        r"\b(?:muestra|muéstra|dime|revela|enseña|escribe|affiche|montre|révèle|dis-moi|donne|zeig|gib|verrate|nenne|"
        r"schreib|mostra|dimmi|rivela)\w*\s+(?:\w+\s+){0,3}?(?:tus|tes|vos|deine|ihre|dein|tue|le tue)\s+(?:\w+\s+)?"
        r"(?:instrucciones|instructions|anweisungen|consignes|reglas|règles|regeln|prompt|vorgaben|istruzioni|regole)"
        r"\b",
        "tus tes vos deine ihre dein tue",
    ),
    _fam(
        "prompt_extraction",
        0.7,
        "system prompt extraction",
        r"\b(?:output|print|show|display|repeat|return|rewrite|rewriting|copy|reproduce|reveal)\s+(?:the\s+|your\s+)?"
        r"(?:original|initial|system|full|complete|above|previous|first)\s+(?:prompt|instructions?)\b|\b(?:return|"
        r"repeat|print|output|reproduce|rewrite|rewriting|copy)\s+(?:the|your)?\s*(?:prompt|instructions?)\s+(?:without "
        r"(?:any )?changes|unchanged|verbatim|exactly|as is|from above|above)\b",
        "output print show display repeat "
        "return rewrite rewriting copy reproduce reveal & prompt instruction instructions",
    ),
    _fam(
        "prompt_extraction",
        0.5,
        "text before the request",
        r"\b(?:instructions?|text|prompt|words)\s+(?:that\s+)?(?:came|comes|was|were|appeared)\s+(?:before|above)\s+"
        r"(?:this|the|my|it)\b",
        "came comes was were appeared & before above",
    ),
    _fam(
        "prompt_extraction",
        0.5,
        "system prompt in code",
        r"\bprint\(\s*(?:system_prompt|instructions|prompt)\s*\)",
        "print",
    ),
    # round 3 (2026-11-23)
    _fam(
        "prompt_extraction",
        0.8,
        "system prompt extraction",
        r"\b(?:reveal|show|print|display|output|repeat|tell|give|share|leak|dump|write|spell|recite|paste|copy|echo|"
        r"translate|summari[sz]e|return|send|put|include)\s+(?:out\s+)?(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:your|the)\s+"
        r"(?:\w+\s+)?(?:initiali[sz]ation|setup|startup|boot|bootstrap)\s+(?:text|message|prompt|instructions?)\b",
        "initialization initialisation setup startup boot bootstrap",
    ),
    _fam(
        "prompt_extraction",
        0.75,
        "system prompt extraction",
        r"\b(?:contain(?:s|ing)?|includ(?:e|es|ing)|with|put|insert|embed(?:ding)?|fill(?:ed)?\s+with)\s+(?:all\s+"
        r"(?:of\s+)?)?your\s+(?:full\s+|complete\s+|entire\s+|exact\s+|whole\s+)?(?:system prompt|system message|"
        r"initial prompt|hidden instructions|secret instructions|original instructions|initial instructions|"
        r"tool definitions|instructions)\b",
        "contain contains containing include includes including with put "
        "insert embed embedding fill filled & prompt message instructions definitions",
    ),
    _fam(
        "prompt_extraction",
        0.55,
        "system prompt extraction",
        r"\b(?:translate|repeat|summari[sz]e|rewrite|paraphrase|copy|reproduce)\s+(?:all\s+|everything\s+|the\s+"
        r"(?:whole\s+|entire\s+)?(?:text|conversation|content)\s+)?(?:above|before)\s+this\s+(?:line|message|point)\b",
        "translate repeat summarize summarise rewrite paraphrase copy reproduce & line message point",
    ),
    _fam(
        "prompt_extraction",
        0.55,
        "system prompt extraction",
        r"\b(?:including|with|plus)\s+(?:any|all|the|your)\s+(?:\w+\s+)?(?:instructions|rules|directives|guidelines|"
        r"system prompt)\s+(?:you\s+(?:received|were given|got|have been given)|(?:given|sent)\s+to\s+you)\b",
        "received given got sent & instructions rules directives guidelines prompt",
    ),
    _fam(
        "prompt_extraction",
        0.6,
        "system prompt extraction",
        r"\b(?:hidden|secret|internal|confidential|private)\s+(?:guidelines|instructions|rules|directives|prompt|"
        r"configuration)\b[^.\n]{0,60}?\b(?:you\s+(?:follow|use|have|obey|were given)|including\s+the\s+text)\b",
        "hidden secret internal confidential private & guidelines instructions rules directives prompt configuration",
    ),
    _fam(
        "prompt_extraction",
        0.6,
        "system prompt extraction",
        r"\b(?:summari[sz]e|describe|list|reveal)\s+your\s+(?:system\s+)?(?:configuration|setup|hidden guidelines)\b",
        "configuration setup guidelines & summarize summarise describe list reveal",
    ),
    # --- delimiter / fake turn injection ---------------------------------------------------------
    _fam(
        "delimiter_injection",
        0.85,
        "fake conversation turn",
        r"(?:<\|(?:im_start|system|start_header_id|endoftext)\|>\s*(?:system|assistant|developer)?|<\|(?:system|"
        r"assistant)\|>|\[/?inst\]|<</?sys>>|<start_of_turn>\s*model|<im_start>\s*(?:system|assistant))"
        r"(?:<\|end_header_id\|>)?\s*(?!\s*(?:token|tag|tags|format|template|marker)s?\b)[a-z\"'!]",
        "",
        ("<|", "[inst", "[/inst", "<<sys", "<</sys", "<start_of_turn", "<im_start"),
    ),
    _fam(
        "delimiter_injection",
        0.35,
        "chat template token",
        r"<\|[a-z_]{2,20}\|>|\[/?inst\]|<</?sys>>|<(?:start|end)_of_turn>",
        "",
        ("<|", "[inst", "[/inst", "<<sys", "<</sys", "_of_turn>"),
    ),
    _fam(
        "delimiter_injection",
        0.8,
        "fake role tag",
        r"</(?:user|context|document|input|instructions|data|human)>\s*<(?:system|assistant|instructions|developer)|"
        r"<(?:system|assistant|developer|instructions|system_override|admin)\b[^>]{0,20}>\s*[a-z][a-z',]*\s+[a-z]",
        "",
        ("</", "<system", "<assistant", "<developer", "<instructions", "<admin"),
    ),
    _fam(
        "delimiter_injection",
        0.75,
        "fake system header",
        r"(?:^|\n)\s*(?:#{1,6}|={2,}|-{3,}|\*\*|\[\[?|<!--)\s*(?:system|assistant|developer|admin|instruction)"
        r"(?:\s+(?:message|prompt|notice|update|override|instructions|note|alert))?[ \t]*(?:\*\*|\]\]?|#{1,6}|={2,}|:|"
        r"\n(?=\s*\w))",
        "system assistant developer admin instruction",
    ),
    _fam(
        "delimiter_injection",
        0.7,
        "fake system message",
        r"(?:^|\n|[.!]\s|<!--\s*)(?:system|developer|admin)\s*(?:message|prompt|notice|override)?\s*:\s*[^\n]{0,80}?"
        r"\b(?:the (?:assistant|ai|model|user)|you|new instructions|new policy|override)\b\s*(?:above\s+)?(?:must|"
        r"should|will|are|is|has|have|now|follow)",
        "system developer admin",
    ),
    _fam(
        "delimiter_injection",
        0.3,
        "conversation turn label",
        r"(?:^|\n)\s*(?:system|assistant|developer)\s*(?:message|prompt|override)?\s*:\s*\S",
        "system assistant developer",
    ),
    _fam(
        "delimiter_injection",
        0.7,
        "system prompt update",
        r"\b(?:system (?:prompt|message|instructions?) (?:update|override|change)|new system (?:prompt|message|"
        r"instructions?)\s*:|begin system instructions|\[system\]\(#)",
        "system",
    ),
    _fam(
        "delimiter_injection",
        0.75,
        "fake assistant turn",
        r"(?:^|\n)\s*(?:assistant|ai|model)\s*:\s*[^\n]{0,100}?\b(?:my (?:rules|instructions|restrictions)|disclose|"
        r"reveal|confidential instructions|no restrictions|without restrictions|hidden instructions|the api keys|"
        r"i'?ll ignore|i will ignore|i'?ll drop|i will drop|is authori[sz]ed)",
        "assistant ai model",
    ),
    _fam(
        "delimiter_injection",
        0.6,
        "fake end of input",
        r"\b(?:end of (?:the )?(?:user )?(?:input|prompt|document|context|message|instructions|conversation)|"
        r"(?:user input|input|prompt|document(?: text)?|context) ends(?: here)?|end (?:user )?prompt)\b[^\n]{0,40}"
        r"(?:\n|$|\.)[\s\S]{0,200}?\b(?:system|new instructions|begin|ignore|you are|assistant)\b",
        "end ends",
    ),
    _fam(
        "delimiter_injection",
        0.35,  # OpenAI code pasted by a developer: alone it must stay below the 0.4 threshold
        "role in JSON",
        r"[\"']role[\"']\s*:\s*[\"'](?:system|developer)[\"']",
        "role",
    ),
    # --- boosters: never start a score --------------------------------------------------------------
    _fam(
        _BOOST,
        0.25,
        "persistent change",
        r"\b(?:from now on|from this (?:moment|point)(?: on)?|henceforth|for the rest of (?:this|the) "
        r"(?:conversation|chat|session)|no matter what|a partir de ahora|ab jetzt|d[ée]sormais)\b",
        "from henceforth rest matter partir jetzt désormais desormais",
    ),
    _fam(
        _BOOST,
        0.25,
        "authority claim",
        r"\b(?:i am|i'm)\s+(?:your|the|an?)\s+(?:\w+\s+)?(?:developer|creator|administrator|admin|owner|programmer|"
        r"operator)\b|\b(?:i am|i'm)\s+(?:from\s+)?(?:openai|anthropic)\b",
        "am i m & developer creator administrator admin owner programmer operator openai anthropic",
    ),
    _fam(
        _BOOST,
        0.3,
        "harmful request",
        rf"\b{_HARM}\b",
        "meth methamphetamine napalm ricin sarin nerve bomb "
        "explosive explosives thermite weapon weapons gun guns hotwire fake launder phishing malware ransomware "
        "keylogger steal poison activation pick hack hacking break breaking",
    ),
    _fam(
        _BOOST,
        0.3,
        "compliance check",
        r"\b(?:confirm (?:by|that) (?:saying|replying|you)|say \"?i am free|"
        r"(?:reply|respond|answer) (?:only )?with (?:the (?:single )?words?|\"|')|i have been pwned|haha pwned|"
        r"access granted|accès accordé|(?:print|say|output|write|reply with|respond with)\s+exactly\s+[\"'“])",
        "confirm say reply respond answer pwned granted accès print output write",
    ),
    _fam(
        _BOOST,
        0.3,
        "secrets or exfiltration",
        r"\b(?:admin(?:istrator)? (?:password|token|credentials)|(?:the|all|stored) api keys?|secret (?:key|code)|"
        r"send (?:the|all|every)\b[^\n]{0,40}\bto\s+(?:https?://|\S+@))",
        "admin administrator api secret password credentials send",
    ),
)
