"""What level of government an office is, from its words: the contest's place follows from it.

A federal or statewide office (President, U.S. Senator, Governor, Attorney General, a state supreme
court…) is one contest per state (and district, and party in a partisan primary); a state
legislative seat is one contest per state and district. Whatever column says where its candidates
live, such a contest's place is the state. A local office (sheriff, council, school board…) is one
contest per place, and needs one. An office this module does not know is left as the list says.
"""

import re
from enum import StrEnum


class Level(StrEnum):
    FEDERAL = "federal"
    STATEWIDE = "statewide"
    STATE_DISTRICT = "state district"  # a state legislative seat: the state and a district
    LOCAL = "local"
    UNKNOWN = "unknown"


_US = r"(?:u\.?\s?s\.?|united states|us|federal)"
_FEDERAL = re.compile(
    rf"\b(?:{_US}\s*(?:senat\w*|rep\w*|house|congress\w*)|"
    r"representative (?:in|to) (?:the )?congress|congress(?:man|woman|ional)?|member of congress)\b",
    re.I,
)
_PRESIDENT = re.compile(r"\b(?:vice[- ])?president(?:ial)?\b", re.I)
_PRESIDENT_OF_A_BODY = re.compile(
    r"\b(?:council|board|commission|village|borough|town|city|school|senate|college|parish|county)\b", re.I
)
_STATEWIDE = re.compile(
    r"\b(?:governor|lieutenant governor|lt\.? governor|attorney general|secretary of (?:the )?(?:state|commonwealth)|"
    r"state (?:treasurer|auditor|comptroller|controller|superintendent|board of education|school superintendent|"
    r"mine inspector|land commissioner|insurance commissioner)|comptroller general|"
    r"superintendent of public instruction|commissioner of (?:agriculture|insurance|labor|public lands|education)|"
    r"(?:agriculture|insurance|labor|railroad|corporation|public service|public utilities) commission(?:er)?|"
    r"supreme court|court of (?:criminal )?appeals|appellate court|commonwealth court|superior court of "
    r"pennsylvania|chief justice)\b",
    re.I,
)
_STATE_DISTRICT = re.compile(
    r"\b(?:(?:judge|court)\b.*\b(?:circuit|judicial district)\s+(?:no\.?\s*)?\d+|"  # a numbered judicial circuit
    # a prosecutor of a numbered district is the state's ('DISTRICT ATTORNEY DISTRICT 25'), not a county's
    r"(?:district attorney|prosecut\w+ attorney|solicitor)\b.*\b(?:(?:prosecutorial |judicial )?district\s+\d+|"
    r"\d+(?:st|nd|rd|th)\s+(?:prosecutorial|judicial) district)|"
    r"\d+(?:st|nd|rd|th)\s+(?:judicial\s+)?(?:circuit|district court)|"
    r"state (?:senat\w*|rep\w*|house|assembly\w*|legislat\w*)|(?:general )?assembly(?:man|woman|member)?|"
    r"house of (?:representatives|delegates)|legislat(?:or|ure|ive)|senate district|house district|"
    r"(?:state )?delegate|senat(?:e|or)|representative)\b",
    re.I,
)
_LOCAL = re.compile(
    r"\b(?:sheriff|mayor|council\w*|alder\w*|selectm\w*|select board|commission(?:er)?s?|supervisors?|trustees?|"
    r"school|board of education|clerk|assessor|coroner|constable|magistrate|justice of the peace|jailer|"
    r"recorder|surveyor|treasurer|auditor|collector|appraiser|prosecut\w*|district attorney|solicitor|"
    r"probate|register of (?:deeds|wills)|prothonotary|township|village|city|town|county|borough|parish|ward|"
    r"precinct (?:committee\w*|delegates?)|"
    r"library|park|fire|hospital|water|sewer|cemetery|soil|conservation|port|transit|utility|levee|drainage|"
    r"municipal|judge|court|justice|zoning|planning|comm)\b",
    re.I,
)


_LOCAL_BODY = re.compile(r"\b(?:county|city|town|village|borough|parish|township|precinct|committee\w*)\b", re.I)


def office_level(office: str) -> Level:
    """The office's level from its words; a federal or state pattern wins over a local word
    (`U.S. Senate` names no county, `State Board of Education` is not a school board)."""
    text = " ".join((office or "").split())
    if _FEDERAL.search(text) or (_PRESIDENT.search(text) and not _PRESIDENT_OF_A_BODY.search(text)):
        return Level.FEDERAL
    if _STATEWIDE.search(text):
        return Level.STATEWIDE
    if _STATE_DISTRICT.search(text) and not _LOCAL_BODY.search(text):
        return Level.STATE_DISTRICT
    if _LOCAL.search(text):
        return Level.LOCAL
    return Level.UNKNOWN


# courts that are one state's whole (elsewhere the same name is a county's or a circuit's court)
_STATEWIDE_COURTS_OF = {
    "PA": re.compile(r"\b(?:superior|commonwealth) court\b", re.I),  # appellate courts of Pennsylvania
}


def statewide_court_of(office: str, state: str) -> bool:
    """`JUDGE OF THE SUPERIOR COURT` on a Pennsylvania list is a statewide seat (in California, a county's)."""
    court = _STATEWIDE_COURTS_OF.get((state or "").upper())
    return bool(court and court.search(office or ""))


def contest_level(office: str, given: str = "") -> Level:
    """The level a row's own column gives (`intake.value_roles`), else the office's words'."""
    return Level(given) if given and given != Level.UNKNOWN else office_level(office)


def state_contest(office: str, given: str = "") -> bool:
    """A contest whose place is the state: federal, statewide or a state legislative district."""
    return contest_level(office, given) in (Level.FEDERAL, Level.STATEWIDE, Level.STATE_DISTRICT)


# Words of offices, not of places: an office made only of these ('County Commissioner District 1')
# names no place; 'HARTFORD MAYOR' and 'City of Asheboro City Council' do.
_OFFICE_WORDS = set(
    """of the and for at large member members seat seats position pos district dist no number division place post
    group ward zone subdistrict area unexpired term full short year years vacancy special general primary election
    nonpartisan partisan officer director directors chair chairman chairperson president vice deputy associate
    presiding chief judge judges justice justices court courts circuit superior municipal probate family juvenile
    civil criminal county city town township village borough parish commissioner commissioners commission council
    councilmember councilman councilwoman councilor alderman alderperson representative delegate committee
    committeeman committeewoman precinct party sheriff mayor clerk assessor coroner constable magistrate peace
    jailer recorder surveyor treasurer auditor tax collector revenue appraiser property prosecutor prosecuting attorney
    solicitor register deeds wills trustee trustees supervisor supervisors selectman selectmen select board
    school schools education library park parks fire hospital water sewer cemetery soil conservation port transit
    utility levee drainage legislative body administrator administrative executive manager controller comptroller
    inspector elections registrar marshal bailiff common pleas domestic relations orphans district's member's
    magisterial
    one two three four five six seven eight nine ten at-large atlarge elected office officers regular new
    east west north south central upper lower eastern western northern southern yr yrs alt alternate comm
    planning plan zoning appeals ed bd""".split()
)


def office_word(word: str) -> bool:
    """A word of offices (district, council, commissioner…), not of places."""
    return word.casefold() in _OFFICE_WORDS


def _code(word: str) -> bool:
    """A seat or precinct code ('31-1-02', 'a11-5', '1a01'), not a place: digits, and no part of it a word of
    three letters or more ('aurora-1' is Aurora's district 1)."""
    return bool(re.search(r"\d", word)) and not any(re.fullmatch(r"[a-z]{3,}", p) for p in re.split(r"[-.']", word))


def names_a_place(office: str) -> bool:
    """The office's text says where it is: a word that is no office word, number or ordinal."""
    words = [w.strip(".'-") for w in re.findall(r"[a-z0-9][a-z0-9'.-]*", (office or "").casefold())]
    # an acronym in a title written in mixed case abbreviates an office ('TPZ Comm'), not a place
    lettered = re.findall(r"[^\W\d_]+", office or "")
    numbered = {m.casefold() for m in re.findall(r"\b([A-Z]{2,4})\s*#?\s*\d", office or "")}  # 'USD 416' names one
    capitals = [w for w in lettered if w.isupper() and 2 <= len(w) <= 4 and w.casefold() not in numbered]
    acronyms = {w.casefold() for w in capitals} if sum(w.isupper() for w in lettered) < 0.5 * len(lettered) else set()
    return any(
        w not in _OFFICE_WORDS
        and w not in acronyms
        and not re.fullmatch(r"[0-9]+(st|nd|rd|th)?|[ivx]+|[a-z]", w)
        and not _code(w)
        for w in words
    )


def missing_place(office: str, jurisdiction: str, state: str, given_level: str = "") -> bool:
    """A local contest that says neither in a column nor in its office where it is (the state alone is
    no place for a sheriff)."""
    from elevra_pipeline.intake.states import STATES, is_state

    named = STATES.get((state or "").upper(), "")  # 'County Commissioner for Eastern District, Missouri'
    text = re.sub(rf"\b{re.escape(named)}\b", " ", office or "", flags=re.I) if named else office
    if contest_level(office, given_level) != Level.LOCAL or names_a_place(text):
        return False
    return not jurisdiction or (is_state(jurisdiction, state) if state else is_state(jurisdiction))
