"""Regenerate `sample_elections.xlsx`: 22 elections, 66 candidates, and the mess real uploads have.

Two sheets with different header names, blank rows, stray whitespace, a duplicate row, non-ASCII
names, lower-case names, party abbreviations, websites without a scheme and mixed date formats.
Run: `python -m elevra_pipeline.samples.make_sample`.
"""

from datetime import date, datetime

from openpyxl import Workbook

from elevra_pipeline.samples import SAMPLE_XLSX

FIRST = [
    "José",
    "Maria",
    "Nguyễn Thị",
    "Zoë",
    "Liam",
    "Aisha",
    "Björn",
    "Chen",
    "Fatima",
    "Olivia",
    "Raúl",
    "Sophie",
    "Kwame",
    "Ingrid",
    "Mateo",
    "Priya",
    "Dmitri",
    "Hannah",
    "Tomás",
    "Yuki",
    "Amara",
    "Noah",
]
LAST = [
    "Álvarez",
    "Okafor",
    "Lan",
    "Brontë",
    "Murphy",
    "Rahman",
    "Lindqvist",
    "Wei",
    "Haddad",
    "Bennett",
    "Muñoz",
    "Dubois",
    "Mensah",
    "Sørensen",
    "García",
    "Patel",
    "Volkov",
    "Schmidt",
    "Ó Briain",
    "Tanaka",
]
PARTIES = ["Dem", "R", "Independent", "Green", "NP", "Libertarian", "Democratic", "GOP"]
COUNTY_RACES = [
    ("Travis County", "County Commissioner", "Precinct 1"),
    ("Travis County", "County Commissioner", "Precinct 3"),
    ("Travis County", "District Attorney", ""),
    ("Maricopa County", "Sheriff", ""),
    ("Maricopa County", "County Assessor", ""),
    ("King County", "County Council", "District 2"),
    ("King County", "County Council", "District 6"),
    ("Fulton County", "Board of Education", "District 4"),
    ("Dane County", "County Clerk", ""),
    ("Orange County", "Superior Court Judge", "Office 12"),
    ("Cook County", "Board of Review", "District 1"),
]
CITY_RACES = [
    ("Springfield", "City Council", "3"),
    ("Springfield", "Mayor", ""),
    ("Ann Arbor", "City Council", "Ward 2"),
    ("Boise", "City Council", "Seat 4"),
    ("Asheville", "Mayor", ""),
    ("Tucson", "City Council", "Ward 6"),
    ("Burlington", "School Board", "Central"),
    ("Eugene", "City Council", "Ward 1"),
    ("Santa Fe", "Municipal Judge", ""),
    ("Duluth", "City Council", "At Large"),
    ("Madison", "Mayor", ""),
]


def _people(start: int, count: int) -> list[str]:
    return [f"{FIRST[(start + i) % len(FIRST)]} {LAST[(start * 3 + i) % len(LAST)]}" for i in range(count)]


def build() -> Workbook:
    book = Workbook()
    county = book.active
    county.title = "County races"
    county.append(["Jurisdiction", "Office", "District", "Election Date", "Candidate Name", "Party", "Website"])
    n = 0
    for i, (place, office, district) in enumerate(COUNTY_RACES):
        for j, name in enumerate(_people(i * 3, 3)):
            n += 1
            website = (
                f"www.{name.split()[-1].lower().replace(' ', '')}{n}forcounty.org"
                if n % 2
                else f"https://vote{n}.example.org"
            )
            when = datetime(2026, 11, 3) if j != 1 else "11/3/2026"  # Excel dates and typed dates mixed
            shown = name.lower() if n % 7 == 0 else f"  {name} " if n % 5 == 0 else name
            county.append([place, office, district, when, shown, PARTIES[n % len(PARTIES)], website])
        if i == 4:
            county.append([None] * 7)  # a blank row in the middle
    county.append(
        [
            COUNTY_RACES[0][0],
            COUNTY_RACES[0][1],
            COUNTY_RACES[0][2],
            datetime(2026, 11, 3),
            _people(0, 1)[0],
            PARTIES[1],
            "www." + LAST[0].lower() + "1forcounty.org",
        ]
    )  # duplicate row
    city = book.create_sheet("City races")
    city.append(["City", "Seat", "Dist.", "Date", "Name", "Party Affiliation", "Campaign Website"])
    for i, (place, office, district) in enumerate(CITY_RACES):
        for name in _people(40 + i * 3, 3):
            n += 1
            city.append(
                [
                    place.upper() if i % 4 == 0 else place,
                    office,
                    district,
                    "Nov 3, 2026",
                    name,
                    PARTIES[n % len(PARTIES)],
                    f"{name.split()[0].lower()}{n}.vote" if n % 3 else "",
                ]
            )
        city.append([])
    return book


if __name__ == "__main__":
    build().save(SAMPLE_XLSX)
    print(f"wrote {SAMPLE_XLSX} ({date.today()})")
